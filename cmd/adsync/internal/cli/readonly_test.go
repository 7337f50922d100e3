package cli

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync/autotask/autotasktest"
)

// TestReadOnlyCommandsNeedNoSecrets: status, history and conflicts list read
// only the local history; they run with no secret set and no secret file
// readable (#13).
func TestReadOnlyCommandsNeedNoSecrets(t *testing.T) {
	w := newCLIWorld(t, 4)
	r := w.run(t, "sync")
	require.Equal(t, ExitOK, r.code, r.stderr)

	delete(w.inv.env, "CONTOSO_GRAPH_SECRET")
	require.NoError(t, os.Remove(filepath.Join(filepath.Dir(w.config), "autotask-secret")))
	for _, args := range [][]string{{"status"}, {"history"}, {"conflicts"}, {"conflicts", "list", "--json"}, {"status", "--json"}} {
		r := w.run(t, args...)
		assert.Equal(t, ExitOK, r.code, "%v: %s", args, r.stderr)
		assert.NotEmpty(t, r.stdout, "%v", args)
	}
	r = w.run(t, "history")
	assert.Contains(t, r.stdout, "contoso: 1 runs")

	// A command that connects reports every missing secret at once.
	r = w.run(t, "plan")
	assert.Equal(t, ExitUsage, r.code)
	assert.Contains(t, r.stderr, "autotask.secretFile: cannot read the secret file")
	assert.Contains(t, r.stderr, "orgs[0].azure.clientSecretEnv: the environment variable CONTOSO_GRAPH_SECRET is not set")
	assert.Equal(t, 2, strings.Count(r.stderr, "adsync: "), r.stderr)
}

// TestStoreDirectoryMissing: a SQLite history whose directory does not
// exist is bad input (a new empty history would match every user again),
// unless --create-store-dir says to create it (#13).
func TestStoreDirectoryMissing(t *testing.T) {
	w := newCLIWorld(t, 3)
	db := filepath.Join(t.TempDir(), "nonexistent", "dir", "h.db")
	for _, cmd := range []string{"sync", "status"} {
		r := w.run(t, cmd, "--store", "sqlite:"+db)
		assert.Equal(t, ExitUsage, r.code, "%s: %s", cmd, r.stderr)
		assert.Contains(t, r.stderr, "does not exist", cmd)
		assert.Contains(t, r.stderr, "--create-store-dir", cmd)
		assert.NoDirExists(t, filepath.Dir(db), cmd)
		assert.Zero(t, w.writes(), cmd)
	}
	r := w.run(t, "sync", "--store", "sqlite:"+db, "--create-store-dir")
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.FileExists(t, db)
}

// TestPlanDisabledOrg: plan of a disabled organization named with --org
// plans it (a preview before enabling it; nothing is written); sync still
// refuses it; without --org it is skipped with a hint (#13).
func TestPlanDisabledOrg(t *testing.T) {
	w := newCLIWorld(t, 3)
	cfg, err := os.ReadFile(w.config)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(w.config, []byte(strings.Replace(string(cfg), "    name: Contoso Ltd\n", "    name: Contoso Ltd\n    enabled: false\n", 1)), 0o600))

	r := w.run(t, "plan", "--org", "contoso")
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "contoso")
	assert.Contains(t, r.stderr, "contoso is disabled (enabled: false): planned as a preview; sync will not run it")
	assert.Zero(t, w.writes())

	r = w.run(t, "plan")
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.Contains(t, r.stderr, "not planned (name it with --org contoso to preview it)")

	r = w.run(t, "sync", "--org", "contoso")
	assert.Contains(t, r.stderr, "disabled")
	assert.Zero(t, w.writes())
}

// TestPlanJSONFailure: a failed plan --json prints nothing on stdout, only
// the error on stderr (#13).
func TestPlanJSONFailure(t *testing.T) {
	w := newCLIWorld(t, 3)
	w.inv.env["CONTOSO_GRAPH_SECRET"] = "wrong-secret"
	r := w.run(t, "plan", "--json")
	assert.Equal(t, ExitFailed, r.code)
	assert.Empty(t, r.stdout)
	assert.Contains(t, r.stderr, "contoso")
}

// TestCommandHelp: adsync CMD --help and adsync help CMD print the
// command's usage with all its flags (#13).
func TestCommandHelp(t *testing.T) {
	cases := map[string][]string{
		"demo":      {"-users", "-state", "-config"},
		"check":     {"-timeout", "-config", "-store", "-org", "-log-level"},
		"plan":      {"-json"},
		"sync":      {"-create-store-dir"},
		"approve":   {"-run"},
		"history":   {"-json"},
		"conflicts": {"-json", "-by", "-user", "-link", "-create", "-ignore"},
		"status":    {"-json"},
		"serve":     {"-org"},
	}
	for cmd, flags := range cases {
		for _, args := range [][]string{{cmd, "--help"}, {"help", cmd}, {cmd, "-h"}} {
			r := invocation{}.run(t, args...)
			assert.Equal(t, ExitOK, r.code, "%v: %s", args, r.stderr)
			assert.Contains(t, r.stdout, "Usage: adsync "+cmd, "%v", args)
			for _, f := range flags {
				assert.Regexp(t, `(?m)^  `+f+`\b`, r.stdout, "%v: flag %s", args, f)
			}
		}
	}
	r := invocation{}.run(t, "help", "frobnicate")
	assert.Equal(t, ExitUsage, r.code)
}

// TestResolveUnknownUser: a resolution for a user in no open conflict is
// refused naming the user, unless --force records it in advance (#13).
func TestResolveUnknownUser(t *testing.T) {
	w := newCLIWorld(t, 4)
	r := w.run(t, "sync")
	require.Equal(t, ExitOK, r.code, r.stderr)

	r = w.run(t, "conflicts", "resolve", "--org", "contoso", "--user", "nosuchuser", "--create")
	assert.Equal(t, ExitUsage, r.code, r.stderr)
	assert.Contains(t, r.stderr, `user "nosuchuser" is in no open conflict of contoso`)
	assert.Contains(t, r.stderr, "--force")
	assert.Empty(t, r.stdout)

	r = w.run(t, "conflicts", "resolve", "--org", "contoso", "--user", w.users[1], "--ignore")
	assert.Equal(t, ExitOK, r.code, "R-CONF-6 a user in an open conflict: %s", r.stderr)

	r = w.run(t, "conflicts", "resolve", "--org", "contoso", "--user", "nosuchuser", "--create", "--force")
	assert.Equal(t, ExitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "recorded in advance")
}

// TestOneLinePerFailure: a failed run is reported once, by sync on stderr
// and by serve in its log, with the attribute err (#13).
func TestOneLinePerFailure(t *testing.T) {
	w := newCLIWorld(t, 3)
	w.inv.env["CONTOSO_GRAPH_SECRET"] = "wrong-secret"
	r := w.run(t, "sync")
	assert.Equal(t, ExitFailed, r.code)
	assert.Equal(t, 1, strings.Count(r.stderr, "AADSTS"), "sync: the error once: %s", r.stderr)

	w = newCLIWorld(t, 3) // never attempted: serve runs it at once (R-RUN-1)
	w.inv.env["CONTOSO_GRAPH_SECRET"] = "wrong-secret"
	ctx, cancel := context.WithCancel(context.Background())
	var errb syncBuffer
	off := false
	a := &app{stdout: io.Discard, stderr: &errb, terminal: &off, httpClient: w.inv.httpClient,
		getenv: func(k string) string { return w.inv.env[k] }}
	done := make(chan int, 1)
	go func() { done <- a.run(ctx, []string{"serve"}) }()
	require.Eventually(t, func() bool { return strings.Contains(errb.String(), "AADSTS") }, 30*time.Second, 20*time.Millisecond)
	cancel()
	<-done
	log := errb.String()
	assert.Equal(t, 1, strings.Count(log, "AADSTS"), "serve: one line per failed run: %s", log)
	assert.NotContains(t, log, " error=", "one attribute name: err")
	assert.Contains(t, log, " err=")
}

// TestRetriesLogged: a retried Autotask call shows in the log with its
// cause, through the command's logger (#13).
func TestRetriesLogged(t *testing.T) {
	w := newCLIWorld(t, 3)
	w.at.InjectFault(autotasktest.Fault{Method: "POST", Path: "Contacts/query", Status: 503, RetryAfter: "0", Times: 1})
	r := w.run(t, "plan", "--log-level", "debug")
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.Contains(t, r.stderr, "retrying")
	assert.Contains(t, r.stderr, "503")
}
