package main_test

// These tests run the real binary, several processes at once, against the
// emulators served over HTTP by the test process: what the in-process tests
// of internal/cli cannot show (R-RUN-5 across processes).

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/autotask/autotasktest"
	"github.com/psasync/adsync/cmd/adsync/internal/cli"
	"github.com/psasync/adsync/history/postgres/pgtest"
	"github.com/psasync/adsync/internal/testio"
	"github.com/psasync/adsync/source/graph/graphtest"
)

var (
	binDir string
	build  struct {
		once sync.Once
		path string
		err  error
	}
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "adsync-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// binary builds the command once per test run.
func binary(t *testing.T) string {
	t.Helper()
	build.once.Do(func() {
		build.path = filepath.Join(binDir, "adsync")
		out, err := exec.Command("go", "build", "-o", build.path, ".").CombinedOutput()
		if err != nil {
			build.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	require.NoError(t, build.err)
	return build.path
}

const (
	procTenant = "11111111-2222-4333-8444-555555555555"
	procClient = "66666666-7777-4888-8999-000000000000"
	procGroup  = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
)

// procWorld is an Entra ID organization on the Graph emulator and a company
// on the Autotask emulator, reached through a proxy that can hold the
// contact creates, with a configuration file for the binary.
type procWorld struct {
	at      *autotasktest.Server
	company int64
	users   int
	dir     string
	config  string
	env     []string

	gate    chan struct{} // closed: creates pass
	gated   atomic.Int32  // creates waiting at the gate
	gateOn  atomic.Bool
	release sync.Once
}

func newProcWorld(t *testing.T, users int, store string) *procWorld {
	t.Helper()
	g := graphtest.NewTLSServer()
	t.Cleanup(g.Close)
	g.AddApp(procTenant, procClient, "graph-secret")
	g.AddGroup(procGroup, "Autotask Contacts")
	for i := range users {
		id := fmt.Sprintf("00000000-0000-4000-8000-%012d", i+1)
		g.PutUser(graphtest.User{ID: id, GivenName: "User", Surname: fmt.Sprintf("Number%03d", i),
			DisplayName: fmt.Sprintf("User Number%03d", i), Mail: fmt.Sprintf("user%03d@contoso.example", i),
			UserPrincipalName: fmt.Sprintf("user%03d@contoso.example", i), UsageLocation: "GB"})
		g.AddMembers(procGroup, id)
	}
	at := autotasktest.NewServer(autotasktest.Options{TimeScale: 0.001})
	t.Cleanup(at.Close)
	w := &procWorld{at: at, company: at.AddCompany("Contoso"), users: users, gate: make(chan struct{}), dir: t.TempDir()}
	t.Cleanup(w.open)

	// The proxy holds contact creates while the gate is on: a run that
	// reached its writes stays in progress as long as the test wants.
	target, err := url.Parse(at.URL())
	require.NoError(t, err)
	rp := httputil.NewSingleHostReverseProxy(target)
	proxy := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if w.gateOn.Load() && r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/Contacts") {
			w.gated.Add(1)
			select {
			case <-w.gate:
			case <-r.Context().Done():
				return
			}
		}
		rp.ServeHTTP(rw, r)
	}))
	t.Cleanup(proxy.Close)
	base := strings.Replace(at.BaseURL(), at.URL(), proxy.URL, 1)

	w.config = filepath.Join(w.dir, "adsync.yaml")
	cfg := fmt.Sprintf(`autotask:
  username: %s
  integrationCode: %s
  secretEnv: AUTOTASK_SECRET
  baseUrl: %s
store: %s
schedule:
  interval: 1s
orgs:
  - id: contoso
    companyId: %d
    azure:
      tenantId: %s
      clientId: %s
      clientSecretEnv: GRAPH_SECRET
      groupId: %s
      baseUrl: %s
      authorityHost: %s/
`, at.Credentials().Username, at.Credentials().IntegrationCode, base, store, w.company,
		procTenant, procClient, procGroup, g.GraphURL(), g.URL())
	require.NoError(t, os.WriteFile(w.config, []byte(cfg), 0o600))

	// The binary trusts the Graph emulator's self-signed certificate
	// through SSL_CERT_FILE, as it would a private CA.
	conn, err := tls.Dial("tcp", strings.TrimPrefix(g.URL(), "https://"), &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // fetching the emulator's own certificate
	require.NoError(t, err)
	cert := conn.ConnectionState().PeerCertificates[0]
	_ = conn.Close()
	ca := filepath.Join(w.dir, "graph-ca.pem")
	require.NoError(t, os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o600))
	w.env = append(os.Environ(), "AUTOTASK_SECRET="+at.Credentials().Secret, "GRAPH_SECRET=graph-secret",
		"SSL_CERT_FILE="+ca, "ADSYNC_CONFIG="+w.config, "ADSYNC_STORE=")
	return w
}

// open lets the held creates through, once.
func (w *procWorld) open() { w.release.Do(func() { close(w.gate) }) }

// command is the binary with args, in the world's environment.
func (w *procWorld) command(ctx context.Context, t *testing.T, args ...string) (*exec.Cmd, *syncBuffer, *syncBuffer) {
	t.Helper()
	cmd := exec.CommandContext(ctx, binary(t), args...)
	cmd.Env = w.env
	cmd.Dir = w.dir
	var out, errb syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	return cmd, &out, &errb
}

type syncBuffer = testio.SyncBuffer

// start starts two processes of the binary with args, as close together as
// it can, and returns them with their stderr.
func (w *procWorld) start(ctx context.Context, t *testing.T, args ...string) ([]*exec.Cmd, []*syncBuffer) {
	t.Helper()
	var cmds []*exec.Cmd
	var errs []*syncBuffer
	for range 2 {
		c, _, e := w.command(ctx, t, args...)
		cmds, errs = append(cmds, c), append(errs, e)
	}
	for _, c := range cmds {
		require.NoError(t, c.Start())
	}
	return cmds, errs
}

// run runs the binary to its end and returns its exit code and outputs.
func (w *procWorld) run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd, out, errb := w.command(ctx, t, args...)
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("running adsync %v: %v", args, err)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errb.String()
}

// runs returns the organization's runs from `adsync history --json`.
func (w *procWorld) runs(t *testing.T) []adsync.Run {
	t.Helper()
	code, out, errOut := w.run(t, "history", "--json")
	require.Equal(t, cli.ExitOK, code, errOut)
	var all map[string][]adsync.Run
	require.NoError(t, json.Unmarshal([]byte(out), &all), out)
	return all["contoso"]
}

// assertNoDuplicates checks that every user has exactly one contact.
func (w *procWorld) assertNoDuplicates(t *testing.T) {
	t.Helper()
	seen := map[string]int{}
	for _, c := range w.at.Contacts(w.company) {
		seen[fmt.Sprint(c["emailAddress"])]++
	}
	for mail, n := range seen {
		assert.Equal(t, 1, n, "R-RUN-5 %d contacts for %s", n, mail)
	}
	assert.Len(t, seen, w.users, "every user has its contact")
}

// waitFor polls cond until it holds; the test's own timeout bounds it.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(90 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stores are the history stores the two-process tests run on.
func stores(t *testing.T) map[string]func(t *testing.T, dir string) string {
	return map[string]func(t *testing.T, dir string) string{
		"sqlite":   func(t *testing.T, dir string) string { return "sqlite:" + filepath.Join(dir, "history.db") },
		"postgres": func(t *testing.T, dir string) string { return "postgres:" + pgtest.DSN(t) },
	}
}

// TestTwoSyncProcesses_R_RUN_5: a second `adsync sync` of an organization
// whose run is in progress in another process exits with ExitBusy, writes
// nothing and leaves the live run alone (not marked interrupted).
func TestTwoSyncProcesses_R_RUN_5(t *testing.T) {
	for name, store := range stores(t) {
		t.Run(name, func(t *testing.T) {
			w := newProcWorld(t, 30, store(t, t.TempDir()))
			w.gateOn.Store(true)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			first, out1, err1 := w.command(ctx, t, "sync")
			require.NoError(t, first.Start())
			waitFor(t, "the first run to reach its creates", func() bool { return w.gated.Load() > 0 })

			code, _, errOut := w.run(t, "sync")
			assert.Equal(t, cli.ExitBusy, code, errOut)
			assert.Contains(t, errOut, "in progress")
			runs := w.runs(t)
			require.Len(t, runs, 1, "the second process started no run")
			assert.Equal(t, adsync.StatusRunning, runs[0].Status, "the live run is not marked interrupted")

			w.open()
			err := first.Wait()
			require.NoError(t, err, "first sync: %s\n%s", out1, err1)
			w.assertNoDuplicates(t)
			runs = w.runs(t)
			require.Len(t, runs, 1)
			assert.Equal(t, adsync.StatusSucceeded, runs[0].Status)
		})
	}
}

// TestSyncProcessesStartedTogether_R_RUN_5: two `adsync sync` started at the
// same moment create every contact once; each exits with success or ExitBusy.
func TestSyncProcessesStartedTogether_R_RUN_5(t *testing.T) {
	for name, store := range stores(t) {
		t.Run(name, func(t *testing.T) {
			w := newProcWorld(t, 60, store(t, t.TempDir()))
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmds, errs := w.start(ctx, t, "sync")
			for i, c := range cmds {
				_ = c.Wait()
				code := c.ProcessState.ExitCode()
				assert.Contains(t, []int{cli.ExitOK, cli.ExitBusy}, code, errs[i].String())
			}
			w.assertNoDuplicates(t)
			for _, r := range w.runs(t) {
				assert.Equal(t, adsync.StatusSucceeded, r.Status, "run %d", r.ID)
			}
		})
	}
}

// TestTwoServeReplicas_R_RUN_5: two `adsync serve` replicas on one
// PostgreSQL database, scheduling the organization every second, create
// every contact once: while one replica's run is held at its creates, the
// other is refused the organization.
func TestTwoServeReplicas_R_RUN_5(t *testing.T) {
	w := newProcWorld(t, 60, "postgres:"+pgtest.DSN(t))
	w.gateOn.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmds, errs := w.start(ctx, t, "serve")
	logs := func(what string) int {
		n := 0
		for _, e := range errs {
			n += strings.Count(e.String(), what)
		}
		return n
	}
	waitFor(t, "a run held at its creates", func() bool { return w.gated.Load() > 0 })
	waitFor(t, "the other replica refused", func() bool { return logs("in progress") > 0 })
	w.open()
	// Several scheduled runs: the first creates, the others find
	// everything done.
	waitFor(t, "three finished runs", func() bool { return logs("run finished") >= 3 })
	for i, c := range cmds {
		require.NoError(t, c.Process.Signal(syscall.SIGTERM))
		assert.NoError(t, c.Wait(), "replica %d: %s", i, errs[i].String())
	}
	w.assertNoDuplicates(t)
	for _, r := range w.runs(t) {
		assert.Equal(t, adsync.StatusSucceeded, r.Status, "run %d: %s", r.ID, r.Error)
	}
}
