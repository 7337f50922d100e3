package cli

import (
	"context"
	"io"
	"path/filepath"
	"testing"

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
	assert.Contains(t, out, "adsync history --org northwind --run 2", "how to list day two's changes")
	assert.Contains(t, out, "Its 7 deactivations, from the log:")
	assert.Contains(t, out, "run 6 (undo) succeeded", "the mistaken approval is undone")
	assert.Contains(t, out, "reactivated 786, deactivated 0")
	assert.Contains(t, r.stderr, "northwind: applied", "progress")
	golden(t, "demo", normalize(out, map[string]string{state: "<state>"}))

	t.Run("a second demo starts afresh", func(t *testing.T) {
		r2 := invocation{}.run(t, "demo", "--state", state)
		require.Equal(t, ExitOK, r2.code, r2.stderr)
		assert.Equal(t, normalize(out, nil), normalize(r2.stdout, nil))
	})
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
