package cli

import (
	"bytes"
	"context"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// result is one in-process invocation of the command.
type result struct {
	code           int
	stdout, stderr string
}

// invocation configures runCLI.
type invocation struct {
	env        map[string]string
	httpClient *http.Client
}

func (in invocation) run(t *testing.T, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	off := false
	a := &app{stdout: &out, stderr: &errb, terminal: &off, httpClient: in.httpClient,
		getenv: func(k string) string { return in.env[k] }}
	code := a.run(context.Background(), args)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

var normalizers = []struct {
	re   *regexp.Regexp
	with string
}{
	// Durations and times depend on the machine and the clock.
	{regexp.MustCompile(` in [0-9.]+(ns|µs|ms|s|m[0-9.]*s|h[0-9m.]*s?)\b`), " in <duration>"},
	{regexp.MustCompile(`\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}`), "<time>"},
	{regexp.MustCompile(`127\.0\.0\.1:\d+`), "127.0.0.1:<port>"},
	// Other integrations share the API budget.
	{regexp.MustCompile(`\d+ of \d+ API calls`), "<n> of <limit> API calls"},
	// Contacts created three at a time get their ids in any order.
	{regexp.MustCompile(`contact \d+`), "contact <id>"},
}

// normalize replaces what varies from run to run, and the given paths.
func normalize(s string, paths map[string]string) string {
	for p, with := range paths {
		s = strings.ReplaceAll(s, p, with)
	}
	for _, n := range normalizers {
		s = n.re.ReplaceAllString(s, n.with)
	}
	return s
}

// golden compares got with testdata/name.golden, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./cmd/adsync/internal/cli -update to create the golden files")
	require.Equal(t, string(want), got, "output differs from %s (go test -update rewrites it)", path)
}
