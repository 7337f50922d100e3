package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/autotask/autotasktest"
	"github.com/psasync/adsync/history/postgres/pgtest"
	"github.com/psasync/adsync/internal/testio"
	"github.com/psasync/adsync/source/graph/graphtest"
)

const (
	cliTenant = "11111111-2222-4333-8444-555555555555"
	cliClient = "66666666-7777-4888-8999-000000000000"
	cliGroup  = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
)

// cliWorld is an Azure organization on the Graph emulator (signing in with a
// client secret at its token endpoint) and a company on the Autotask
// emulator, with a configuration file pointing at both.
type cliWorld struct {
	graph  *graphtest.Server
	at     *autotasktest.Server
	inv    invocation
	config string
	store  string
	users  []string // Graph ids, in order
}

func newCLIWorld(t *testing.T, users int) *cliWorld {
	t.Helper()
	g := graphtest.NewTLSServer()
	t.Cleanup(g.Close)
	at := autotasktest.NewServer(autotasktest.Options{TimeScale: 0.001})
	t.Cleanup(at.Close)
	g.AddApp(cliTenant, cliClient, "graph-secret")
	g.AddGroup(cliGroup, "Autotask Contacts")
	w := &cliWorld{graph: g, at: at}
	for i := range users {
		id := fmt.Sprintf("00000000-0000-4000-8000-%012d", i+1)
		mail := fmt.Sprintf("user%02d@contoso.example", i)
		if i == 1 || i == 2 {
			mail = "shared@contoso.example" // R-CONF-1
		}
		g.PutUser(graphtest.User{ID: id, GivenName: "User", Surname: fmt.Sprintf("Number%02d", i), DisplayName: fmt.Sprintf("User Number%02d", i),
			Mail: mail, UserPrincipalName: fmt.Sprintf("user%02d@contoso.example", i), JobTitle: "Engineer", UsageLocation: "GB"})
		g.AddMembers(cliGroup, id)
		w.users = append(w.users, id)
	}
	company := at.AddCompany("Contoso")
	product := at.AddBillingProduct("Managed User")
	_, err := at.SeedContact(company, autotasktest.Fields{"firstName": "User", "lastName": "Number00", "emailAddress": "user00@contoso.example", "title": "Intern"})
	require.NoError(t, err)
	dir := t.TempDir()
	w.config = filepath.Join(dir, "adsync.yaml")
	w.store = filepath.Join(dir, "adsync-history.db")
	cfg := fmt.Sprintf(`autotask:
  username: %s
  integrationCode: %s
  secretFile: autotask-secret
  zoneLookupUrl: %s
orgs:
  - id: contoso
    name: Contoso Ltd
    companyId: %d
    billingProductId: %d
    guard: {min: 3, percent: 10}
%s`, at.Credentials().Username, at.Credentials().IntegrationCode, at.ZoneLookupURL(), company, product, azureDirectory(g))
	require.NoError(t, os.WriteFile(w.config, []byte(cfg), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "autotask-secret"), []byte(at.Credentials().Secret+"\n"), 0o600))
	w.inv = invocation{env: map[string]string{"CONTOSO_GRAPH_SECRET": "graph-secret", "ADSYNC_CONFIG": w.config}, httpClient: g.Client()}
	return w
}

func (w *cliWorld) run(t *testing.T, args ...string) result {
	t.Helper()
	return w.inv.run(t, args...)
}

func (w *cliWorld) norm(s string) string {
	return normalize(s, map[string]string{filepath.Dir(w.config): "<dir>"})
}

// writes counts the contact writes (POST, PATCH) the Autotask emulator served.
func (w *cliWorld) writes() int { return contactWrites(w.at) }

// contactWrites counts the contact writes (POST, PATCH) at served.
func contactWrites(at *autotasktest.Server) int {
	n := 0
	for _, r := range at.Requests() {
		if (r.Method == "POST" || r.Method == "PATCH") && !strings.Contains(r.Path, "query") {
			n++
		}
	}
	return n
}

// TestCommands runs the subcommands in the order an admin would, against the
// emulators, with golden outputs.
func TestCommands(t *testing.T) {
	w := newCLIWorld(t, 12)

	r := w.run(t, "check")
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "contoso: directory azure ok")
	assert.Contains(t, r.stdout, "contoso: Autotask company 1 ok")
	assert.NoFileExists(t, w.store, "check opens no history")

	r = w.run(t, "plan")
	require.Equal(t, ExitOK, r.code, r.stderr)
	golden(t, "plan", w.norm(r.stdout))
	assert.Zero(t, w.writes(), "a plan writes nothing")

	r = w.run(t, "plan", "--json")
	require.Equal(t, ExitOK, r.code, r.stderr)
	var plans []planJSON
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &plans))
	require.Len(t, plans, 1)
	assert.Equal(t, 9, plans[0].Counts.Created)
	assert.Equal(t, 1, plans[0].Counts.Linked, "R-MATCH-1")
	assert.Equal(t, 2, plans[0].Counts.Conflicts, "R-CONF-1")
	assert.Len(t, plans[0].Changes, 10)

	r = w.run(t, "sync")
	require.Equal(t, ExitOK, r.code, r.stderr)
	golden(t, "sync", w.norm(r.stdout))
	assert.Contains(t, r.stderr, "contoso: applied", "progress lines when stderr is no terminal")

	t.Run("R-RUN-8 a second sync writes nothing", func(t *testing.T) {
		before := w.writes()
		r := w.run(t, "sync")
		require.Equal(t, ExitOK, r.code, r.stderr)
		assert.Equal(t, before, w.writes())
		assert.Contains(t, r.stdout, "created 0, linked 0, updated 0")
	})

	r = w.run(t, "conflicts")
	require.Equal(t, ExitOK, r.code, r.stderr)
	golden(t, "conflicts", w.norm(r.stdout))

	t.Run("R-CONF-6 resolve and unresolve", func(t *testing.T) {
		r := w.run(t, "conflicts", "resolve", "--org", "contoso", "--user", w.users[1], "--create", "--by", "test")
		require.Equal(t, ExitOK, r.code, r.stderr)
		r = w.run(t, "sync")
		require.Equal(t, ExitOK, r.code, r.stderr)
		// Resolved, the user is created; the other user of the shared
		// mailbox still shares its email with an in-scope user (R-CONF-1).
		assert.Contains(t, r.stdout, "created 1,")
		r = w.run(t, "conflicts", "--json")
		require.Equal(t, ExitOK, r.code, r.stderr)
		var cs map[string][]adsync.Conflict
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &cs))
		require.Len(t, cs["contoso"], 1, "R-CONF-1 the other user of the shared mailbox")
		r = w.run(t, "conflicts", "resolve", "--org", "contoso", "--user", w.users[2], "--create", "--by", "test")
		require.Equal(t, ExitOK, r.code, r.stderr)
		r = w.run(t, "sync")
		require.Equal(t, ExitOK, r.code, r.stderr)
		assert.Contains(t, r.stdout, "created 1,")
		r = w.run(t, "conflicts", "--json")
		require.Equal(t, ExitOK, r.code, r.stderr)
		cs = nil
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &cs))
		assert.Empty(t, cs["contoso"], "R-CONF-5 conflicts clear themselves")
		r = w.run(t, "conflicts", "unresolve", "--org", "contoso", "--user", w.users[1])
		require.Equal(t, ExitOK, r.code, r.stderr)
		r = w.run(t, "conflicts", "unresolve", "--org", "contoso", "--user", w.users[1])
		assert.Equal(t, ExitFailed, r.code, "no resolution left")
	})

	t.Run("R-DEACT-4 held run, approve", func(t *testing.T) {
		for _, id := range w.users[5:10] {
			w.graph.RemoveMember(cliGroup, id)
		}
		r := w.run(t, "sync")
		require.Equal(t, ExitHeld, r.code, r.stderr)
		golden(t, "sync-held", w.norm(r.stdout))
		r = w.run(t, "approve", "--org", "contoso")
		require.Equal(t, ExitOK, r.code, r.stderr)
		assert.Contains(t, r.stdout, "deactivated 5")
		r = w.run(t, "approve", "--org", "contoso")
		assert.Equal(t, ExitFailed, r.code, "nothing held any more")
		assert.Contains(t, r.stderr, "no held run waiting for approval")
		r = w.run(t, "approve", "--org", "contoso", "--run", "5")
		assert.Equal(t, ExitFailed, r.code)
		assert.Contains(t, r.stderr, "run 5 was already approved by run 6")
	})

	r = w.run(t, "history")
	require.Equal(t, ExitOK, r.code, r.stderr)
	golden(t, "history", w.norm(r.stdout))

	r = w.run(t, "status")
	require.Equal(t, ExitOK, r.code, r.stderr)
	golden(t, "status", w.norm(r.stdout))
}

// TestFailures: a failing run exits 1 and says why; a check names the end
// that failed.
func TestFailures(t *testing.T) {
	w := newCLIWorld(t, 3)
	w.inv.env["CONTOSO_GRAPH_SECRET"] = "wrong-secret"

	r := w.run(t, "check")
	assert.Equal(t, ExitFailed, r.code)
	assert.Contains(t, r.stdout, "FAILED")
	assert.Contains(t, r.stderr, "contoso: directory:")

	r = w.run(t, "sync")
	assert.Equal(t, ExitFailed, r.code)
	assert.Contains(t, r.stdout, "failed")
	assert.Contains(t, r.stderr, "run 1 failed")
	assert.Zero(t, w.writes(), "R-DEACT-3 nothing written")
	assert.NotContains(t, r.stdout+r.stderr, "wrong-secret", "secrets never printed")

	r = w.run(t, "history")
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "failed")
}

// TestServe: serve runs a never-attempted organization at once (R-RUN-1),
// logs the run, and stops gracefully when its context is cancelled, as on
// SIGINT or SIGTERM.
func TestServe(t *testing.T) {
	w := newCLIWorld(t, 4)
	require.Len(t, w.at.Contacts(1), 1)
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	off := false
	a := &app{stdout: &out, stderr: &errb, terminal: &off, httpClient: w.inv.httpClient,
		getenv: func(k string) string { return w.inv.env[k] }}
	done := make(chan int, 1)
	go func() { done <- a.run(ctx, []string{"serve"}) }()
	require.Eventually(t, func() bool { return strings.Contains(errb.String(), "run finished") }, 30*time.Second, 20*time.Millisecond)
	assert.Len(t, w.at.Contacts(1), 2, "1 linked, 1 created, 2 in conflict (R-CONF-1)")
	cancel()
	select {
	case code := <-done:
		assert.Equal(t, ExitOK, code, errb.String())
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	assert.Contains(t, errb.String(), "msg=stopped")
}

type syncBuffer = testio.SyncBuffer

// TestPostgresStore: --store postgres:DSN (here through ADSYNC_STORE) keeps
// the history in PostgreSQL, and the DSN's password is never printed.
func TestPostgresStore(t *testing.T) {
	dsn := pgtest.DSN(t) // a fresh schema; skips without ADSYNC_PG_DSN
	w := newCLIWorld(t, 5)
	r := w.run(t, "sync", "--store", "postgres:"+dsn)
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "run 1 (forced) succeeded")
	assert.NoFileExists(t, w.store, "no SQLite file")

	w.inv.env["ADSYNC_STORE"] = "postgres:" + dsn
	r = w.run(t, "history")
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "contoso: 1 runs")

	r = w.run(t, "sync", "--store", "postgres://adsync:wrong-password@127.0.0.1:1/adsync?sslmode=disable&connect_timeout=2")
	assert.Equal(t, ExitFailed, r.code)
	assert.NotContains(t, r.stderr, "wrong-password")
}

// TestLDAPOrg: an ldap organization of the configuration file against the
// project's Samba AD DC (scripts/services/samba.sh): check reports the TLS
// status, plan reads the seeded OU.
func TestLDAPOrg(t *testing.T) {
	url, ou := needDC(t), os.Getenv("ADSYNC_LDAP_SEED_OU")
	if ou == "" {
		ou = os.Getenv("ADSYNC_LDAP_BASE_DN") // a DC the tests did not seed
	}
	at := autotasktest.NewServer(autotasktest.Options{})
	t.Cleanup(at.Close)
	company := at.AddCompany("Corp")
	dir := t.TempDir()
	cfg := orgConfig(at, "corp", company, ldapDirectory(url, ou))
	path := filepath.Join(dir, "adsync.yaml")
	require.NoError(t, os.WriteFile(path, []byte(cfg), 0o600))
	inv := invocation{env: map[string]string{"AT_SECRET": at.Credentials().Secret, "LDAP_PASSWORD": os.Getenv("ADSYNC_LDAP_PASSWORD"),
		"ADSYNC_CONFIG": path}}

	r := inv.run(t, "check")
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.Regexp(t, `corp: directory ldap ok.*; TLS ok \(expires`, r.stdout, "R-STATUS-2 TLS status with the certificate's expiry")

	r = inv.run(t, "plan", "--json")
	require.Equal(t, ExitOK, r.code, r.stderr)
	var plans []planJSON
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &plans))
	require.Len(t, plans, 1)
	assert.Positive(t, plans[0].Counts.Read)
	assert.Equal(t, adsync.TLSOK, plans[0].TLS)
	assert.Empty(t, at.Contacts(company), "a plan writes nothing")
}

func TestOrgErrorPrefixOnce(t *testing.T) {
	for _, tc := range []struct{ err, want string }{
		{`adsync: check the directory of "fabrikam": ldap: bind refused`, `adsync: check the directory of "fabrikam": ldap: bind refused`},
		{`adsync: run 4 was already approved by run 5`, `adsync: fabrikam: run 4 was already approved by run 5`},
		{`history/sqlite: locked`, `adsync: fabrikam: history/sqlite: locked`},
	} {
		got := orgError("fabrikam", errors.New(tc.err))
		assert.Equal(t, tc.want, got)
		assert.False(t, strings.HasPrefix(got, "adsync: fabrikam: adsync:"), "the prefix once: %s", got)
	}
}
