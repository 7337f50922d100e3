package cli

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync/docs"
)

// TestRules: `adsync rules` lists every rule of docs/rules.md, one a line in
// document order; `adsync rules ID` prints one; a bad id or too many
// arguments is bad input (exit 2) with a message naming it. No
// configuration is read: the invocation has none.
func TestRules(t *testing.T) {
	all := docs.Rules()
	require.NotEmpty(t, all)
	match3, ok := docs.Lookup("R-MATCH-3")
	require.True(t, ok)

	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		ids      []string // the rule ids on stdout, line by line
		stderr   string
		contains string // stdout
	}{
		{name: "every rule", args: []string{"rules"}, code: ExitOK, ids: ids(all)},
		{name: "one rule", args: []string{"rules", "R-MATCH-3"}, code: ExitOK, ids: []string{"R-MATCH-3"}, contains: match3.Summary},
		{name: "case does not matter", args: []string{"rules", "r-match-3"}, code: ExitOK, ids: []string{"R-MATCH-3"}},
		{name: "global flags before the command", args: []string{"--config", "none.yaml", "rules", "R-DEACT-4"}, code: ExitOK, ids: []string{"R-DEACT-4"}},
		{name: "an unknown id", args: []string{"rules", "R-" + "MATCH-99"}, code: ExitUsage, stderr: `no rule has the id "R-` + `MATCH-99"`},
		{name: "two ids", args: []string{"rules", "R-MATCH-1", "R-MATCH-2"}, code: ExitUsage, stderr: "one rule id at most"},
		{name: "help", args: []string{"rules", "--help"}, code: ExitOK, contains: "Usage: adsync rules [ID]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := invocation{}.run(t, tc.args...)
			assert.Equal(t, tc.code, r.code, "stderr: %s", r.stderr)
			if tc.stderr != "" {
				assert.Contains(t, r.stderr, tc.stderr)
				assert.Empty(t, r.stdout)
			} else {
				assert.Empty(t, r.stderr)
			}
			if tc.ids != nil {
				var got []string
				for _, line := range strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n") {
					got = append(got, strings.Fields(line)[0])
				}
				assert.Equal(t, tc.ids, got)
			}
			assert.Contains(t, r.stdout, tc.contains)
		})
	}
}

// TestRulesLineFormat: each line is the id, the source and the whole summary.
func TestRulesLineFormat(t *testing.T) {
	r := invocation{}.run(t, "rules")
	require.Equal(t, ExitOK, r.code)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	all := docs.Rules()
	require.Len(t, lines, len(all))
	for i, rule := range all {
		f := strings.Fields(lines[i])
		require.GreaterOrEqual(t, len(f), 3, lines[i])
		assert.Equal(t, rule.ID, f[0])
		assert.Equal(t, rule.Source, f[1])
		assert.True(t, strings.HasSuffix(lines[i], "  "+rule.Summary), "line %q ends with the summary", lines[i])
	}
}

func ids(rules []docs.Rule) []string {
	out := make([]string, len(rules))
	for i, r := range rules {
		out[i] = r.ID
	}
	return out
}
