// Package docs holds adsync's written documentation and gives programs the
// rules of rules.md: each rule id (R-MATCH-1 …) with where it comes from and
// a one-line meaning. The command's `adsync rules` prints them, so that a
// user reading a plan can look an id up; tests check that every id the code
// cites is defined here.
package docs

import (
	_ "embed"
	"fmt"
	"regexp"
	"strings"
	"sync"
)

//go:embed rules.md
var rulesMD string

// The sources a rule may name.
const (
	// SourceAutotask marks a rule Autotask's AD Sync documents.
	SourceAutotask = "Autotask"
	// SourceAdsync marks a rule adsync decides where Autotask is silent.
	SourceAdsync = "adsync"
)

// Rule is one rule of rules.md.
type Rule struct {
	ID      string // for example "R-MATCH-1"
	Source  string // SourceAutotask or SourceAdsync
	Summary string // one sentence, one line
}

// ruleLine is the strict form of a rule line: "- **ID** [Source] Summary".
var ruleLine = regexp.MustCompile(`^- \*\*(R-[A-Z]+-[0-9]+)\*\* \[(Autotask|adsync)\] (\S.*)$`)

// parseRules reads the rules of a rules.md text in document order. A line
// that starts like a rule ("- **R-") but does not have the rule form is an
// error naming its line, and so is an id defined twice: a malformed rule must
// not silently go missing.
func parseRules(text string) ([]Rule, error) {
	var rules []Rule
	seen := map[string]int{}
	for i, line := range strings.Split(text, "\n") {
		n := i + 1
		line = strings.TrimRight(line, " \t\r")
		if !strings.HasPrefix(line, "- **R-") {
			continue
		}
		m := ruleLine.FindStringSubmatch(line)
		if m == nil {
			return nil, fmt.Errorf("rules.md:%d: a rule line must read \"- **R-FAMILY-N** [Autotask|adsync] Summary\", got %q", n, line)
		}
		id := m[1]
		if prev, dup := seen[strings.ToUpper(id)]; dup {
			return nil, fmt.Errorf("rules.md:%d: %s is already defined on line %d", n, id, prev)
		}
		seen[strings.ToUpper(id)] = n
		rules = append(rules, Rule{ID: id, Source: m[2], Summary: strings.TrimSpace(m[3])})
	}
	if len(rules) == 0 {
		return nil, fmt.Errorf("rules.md: no rule found")
	}
	return rules, nil
}

// parsed is rules.md parsed once. The file is part of the binary and a test
// parses it, so an error here is a build mistake, not a run-time condition.
var parsed = sync.OnceValue(func() []Rule {
	rules, err := parseRules(rulesMD)
	if err != nil {
		panic("docs: " + err.Error())
	}
	return rules
})

// Rules returns every rule of rules.md in document order. The slice is a
// copy: callers may change it.
func Rules() []Rule {
	return append([]Rule(nil), parsed()...)
}

// Lookup returns the rule with the given id, compared case-insensitively
// ("r-match-1" finds R-MATCH-1), and whether it exists.
func Lookup(id string) (Rule, bool) {
	id = strings.TrimSpace(id)
	for _, r := range parsed() {
		if strings.EqualFold(r.ID, id) {
			return r, true
		}
	}
	return Rule{}, false
}
