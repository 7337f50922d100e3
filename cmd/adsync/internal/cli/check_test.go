package cli

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// silentListener accepts connections and never answers: a firewall that
// swallows packets, a hung proxy.
func silentListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return ln.Addr().String()
}

// sortedLines sorts the lines of out: check prints each result as it
// comes, in no fixed order.
func sortedLines(out string) string {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	sort.Strings(lines)
	return strings.Join(lines, "\n") + "\n"
}

// TestCheckTimeout: check against an Autotask endpoint that accepts
// connections and never answers stops at --timeout, saying what did not
// answer (#10 point 10).
func TestCheckTimeout(t *testing.T) {
	w := newCLIWorld(t, 3)
	cfg, err := os.ReadFile(w.config)
	require.NoError(t, err)
	silent := "http://" + silentListener(t) + "/ATServicesRest/"
	patched := strings.Replace(string(cfg), "  zoneLookupUrl: "+w.at.ZoneLookupURL()+"\n", "  baseUrl: "+silent+"\n", 1)
	require.NotEqual(t, string(cfg), patched)
	require.NoError(t, os.WriteFile(w.config, []byte(patched), 0o600))

	r := w.run(t, "check", "--timeout", "500ms")
	assert.Equal(t, ExitFailed, r.code, r.stderr)
	assert.Contains(t, r.stdout, "autotask: FAILED")
	assert.Contains(t, r.stderr, "autotask: no answer within 500ms (--timeout)")
	assert.Regexp(t, `contoso: directory azure ok`, r.stdout, "the directory's result is printed though Autotask hangs")

	r = w.run(t, "check", "--timeout", "0s")
	assert.Equal(t, ExitUsage, r.code)
	assert.Contains(t, r.stderr, "--timeout")
}

// TestCheckAutotaskOnce: with two organizations, check reads Autotask's
// connection once and each organization's company (#13).
func TestCheckAutotaskOnce(t *testing.T) {
	w := newCLIWorld(t, 3)
	second := w.at.AddCompany("Fabrikam")
	group := "4f2504e0-4f89-41d3-9a0c-0305e82c3302"
	w.graph.AddGroup(group, "Fabrikam Contacts")
	cfg, err := os.ReadFile(w.config)
	require.NoError(t, err)
	orgs := string(cfg)[strings.Index(string(cfg), "  - id: contoso"):]
	other := strings.NewReplacer("id: contoso", "id: fabrikam", "name: Contoso Ltd", "name: Fabrikam",
		fmt.Sprintf("companyId: %d", 1), fmt.Sprintf("companyId: %d", second), cliGroup, group).Replace(orgs)
	require.NotEqual(t, orgs, other)
	require.NoError(t, os.WriteFile(w.config, []byte(string(cfg)+other), 0o600))

	r := w.run(t, "check")
	require.Equal(t, ExitOK, r.code, r.stderr)
	golden(t, "check", w.norm(sortedLines(r.stdout)))
	assert.Equal(t, 2, w.at.CountRequests("POST", "Companies/query/count"), "one company check per organization")

	// Autotask refuses the credentials: one failure, not one per
	// organization.
	require.NoError(t, os.WriteFile(filepath.Join(filepath.Dir(w.config), "autotask-secret"), []byte("wrong"), 0o600))
	r = w.run(t, "check")
	assert.Equal(t, ExitFailed, r.code)
	assert.Equal(t, 1, strings.Count(r.stderr, "adsync: "), r.stderr)
	assert.Contains(t, r.stderr, "adsync: autotask: ")
	assert.Contains(t, r.stdout, "contoso: Autotask company 1 not checked (Autotask failed)")
	assert.Contains(t, r.stdout, "fabrikam: Autotask company 2 not checked (Autotask failed)")
}
