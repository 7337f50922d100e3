package cli

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/psasync/adsync"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDemo runs the whole demo in-process, as `go run ./cmd/adsync demo`
// does, and compares its story with the golden file.
func TestDemo(t *testing.T) {
	state := t.TempDir()
	r := invocation{}.run(t, "demo", "--state", state)
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.FileExists(t, filepath.Join(state, "demo.db"))

	// The facts the demo is there to show, checked beside the golden file.
	out := r.stdout
	assert.Contains(t, out, "run 1 (forced) succeeded")
	assert.Contains(t, out, "created 1450, linked 493, updated 0, reactivated 40", "R-MATCH-1..5 on the first run: the 40 inactive contacts matched are reactivations (R-MATCH-2, R-MATCH-4)")
	assert.Contains(t, out, "created 6, linked 0, updated 15, reactivated 0, deactivated 7", "day two")
	assert.Contains(t, out, "Autotask writes (POST/PATCH) during this run: 0", "R-RUN-8 an unchanged run writes nothing")
	assert.Contains(t, out, "run 4 (forced) held", "R-DEACT-4 the guard holds a mass deactivation")
	assert.Contains(t, out, "adsync approve --org northwind --run 4")
	assert.Contains(t, out, "The 120 supplier contacts the directory does not have: 120 of them untouched", "contacts outside the directory are never touched")
	assert.Contains(t, out, "786 of the 792 people have a linked contact", "the held count explained")
	assert.Contains(t, out, "adsync history --org northwind --run 2", "how to list day two's changes")
	assert.Contains(t, out, "Its 7 deactivations, from the log:")
	assert.Contains(t, out, "run 6 (undo) succeeded", "the mistaken approval is undone")
	assert.Contains(t, out, "reactivated 786, deactivated 0")
	assert.Contains(t, r.stderr, "northwind: applied", "progress")
	golden(t, "demo", normalize(out, map[string]string{state: "<state>"}))

	t.Run("a second demo starts afresh and prints the same story", func(t *testing.T) {
		r2 := invocation{}.run(t, "demo", "--state", state)
		require.Equal(t, ExitOK, r2.code, r2.stderr)
		assert.Equal(t, out, r2.stdout, "deterministic, byte for byte: contact ids included")
	})
}

// TestDemoServe: demo --serve leaves the admin console running on the
// demo's state until interrupted.
func TestDemoServe(t *testing.T) {
	bg := invocation{}.start("demo", "--state", t.TempDir(), "--users", "500", "--serve", "--http", "127.0.0.1:0")
	out, errb := &bg.stdout, &bg.stderr
	url := regexp.MustCompile(`Admin console: (http://127\.0\.0\.1:\d+/)`)
	require.Eventually(t, func() bool { return url.MatchString(out.String()) }, 2*time.Minute, 50*time.Millisecond, errb.String())
	base := url.FindStringSubmatch(out.String())[1]
	for path, want := range map[string]string{"": "Northwind Traders", "org/northwind/conflicts": "Open conflicts"} {
		resp, err := http.Get(base + path)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, path)
		assert.Contains(t, string(body), want, path)
	}
	assert.Equal(t, ExitOK, bg.stop(t), errb.String())
}

// TestDemoSizes: the smallest customer tells the same story; the largest
// allowed is Autotask's limit of 400,000 contacts (#13).
func TestDemoSizes(t *testing.T) {
	r := invocation{}.run(t, "demo", "--state", t.TempDir(), "--users", "100")
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "run 4 (forced) held")
	r = invocation{}.run(t, "demo", "--users", "400001")
	assert.Equal(t, ExitUsage, r.code)
	assert.Contains(t, r.stderr, "want 100 to 400000")
}

// BenchmarkDemo measures the whole demo: seeding both emulators, five runs
// of 2,000 users (about 2,000 contact writes and as many billing product
// calls), the history in SQLite.
func BenchmarkDemo(b *testing.B) {
	off := false
	for b.Loop() {
		a := &app{stdout: io.Discard, stderr: io.Discard, terminal: &off, getenv: func(string) string { return "" }}
		if code := a.run(context.Background(), []string{"demo", "--state", b.TempDir()}); code != ExitOK {
			b.Fatalf("demo exited %d", code)
		}
	}
}

// demoCommand matches a command the demo prints: adsync, the command, and
// its flags with their values.
var demoCommand = regexp.MustCompile(`adsync (approve|history|conflicts|status|plan|sync|check)((?: --[a-z-]+(?: [A-Za-z0-9_]+)?)*)`)

// TestDemoKeep: demo --keep DIR leaves the emulators running with a
// configuration and the history in DIR, and every command the story prints
// works as printed against them, with ADSYNC_CONFIG set as it says (#13).
func TestDemoKeep(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	off := false
	a := &app{stdout: &out, stderr: &errb, terminal: &off, getenv: func(string) string { return "" }}
	done := make(chan int, 1)
	go func() { done <- a.run(ctx, []string{"demo", "--keep", dir, "--users", "100"}) }()
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "export ADSYNC_CONFIG=") }, 2*time.Minute, 50*time.Millisecond,
		"%s", errb.String())
	story := out.String()
	cfg := filepath.Join(dir, "adsync.yaml")
	assert.Contains(t, story, "export ADSYNC_CONFIG="+cfg)
	env := map[string]string{"ADSYNC_CONFIG": cfg}

	printed := map[string]bool{}
	for _, m := range demoCommand.FindAllStringSubmatch(story, -1) {
		printed[strings.TrimSpace(m[1]+m[2])] = true
	}
	require.Contains(t, printed, "approve --org northwind --run 4")
	require.Contains(t, printed, "history --json --org northwind")
	// A USER_ID the story leaves to the reader: one of the conflicts'.
	r := invocation{env: env}.run(t, "conflicts", "--json")
	require.Equal(t, ExitOK, r.code, r.stderr)
	var cs map[string][]adsync.Conflict
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &cs))
	require.NotEmpty(t, cs["northwind"])
	userID := cs["northwind"][0].UserID

	// The run order matters: approve applies the held run once.
	cmds := []string{"status", "plan", "history --json --org northwind", "history --org northwind --run 2",
		"history --org northwind --user USER_ID", "conflicts", "approve --org northwind --run 4", "sync"}
	for c := range printed {
		assert.Contains(t, cmds, c, "a printed command the test does not run")
	}
	for _, c := range cmds {
		r := invocation{env: env}.run(t, strings.Fields(strings.ReplaceAll(c, "USER_ID", userID))...)
		assert.Equal(t, ExitOK, r.code, "adsync %s: %s", c, r.stderr)
	}

	// conflicts resolve, whose USER_ID the story leaves to the reader.
	r = invocation{env: env}.run(t, "conflicts", "resolve", "--org", "northwind", "--user", userID, "--ignore")
	assert.Equal(t, ExitOK, r.code, r.stderr)

	// serve starts on the demo's state and stops on a signal.
	sctx, stop := context.WithCancel(context.Background())
	var slog syncBuffer
	s := &app{stdout: io.Discard, stderr: &slog, terminal: &off, getenv: func(k string) string { return env[k] }}
	served := make(chan int, 1)
	go func() { served <- s.run(sctx, []string{"serve"}) }()
	require.Eventually(t, func() bool { return strings.Contains(slog.String(), "msg=serving") }, time.Minute, 20*time.Millisecond)
	stop()
	code := <-served
	assert.Equal(t, ExitOK, code, "serve exited %d: %s", code, slog.String())

	cancel()
	assert.Equal(t, ExitOK, <-done)
}
