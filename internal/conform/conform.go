// Package conform holds what the conformance suites (contacts/contactstest,
// source/sourcetest, history/historytest) share: one format for a broken contract, so that
// every suite's failures read alike.
//
// A rule is quoted as its suite's rule constant, which starts with where
// the rule is stated: the interface or method whose doc comment holds it
// ("ContactStore.Check: returns nil for ..."), with the spec's rule id in
// parentheses where one applies. CheckRuleNames keeps those names true.
// Subtests are named by the rule id where one applies, then the behaviour
// ("R-SCOPE-8 DisabledUsersDeliveredDisabled").
package conform

import (
	"fmt"
	"testing"
)

// Broken reports a broken rule: what went wrong, then the contract.
func Broken(t testing.TB, rule, format string, args ...any) {
	t.Helper()
	t.Errorf("%s\n\tcontract: %s", fmt.Sprintf(format, args...), rule)
}

// Fatal is Broken, and stops the test.
func Fatal(t testing.TB, rule, format string, args ...any) {
	t.Helper()
	t.Fatalf("%s\n\tcontract: %s", fmt.Sprintf(format, args...), rule)
}

// Must stops the test on an error of the harness or of a call the test
// depends on: not a broken contract, so no rule is named.
func Must(t testing.TB, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// Contract names the rule a whole test checks, for a test that asserts
// with testify rather than Broken: when the test fails, by whatever
// assertion, the rule is logged at its end in Broken's format.
func Contract(t testing.TB, rule string) {
	t.Helper()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s failed\n\tcontract: %s", t.Name(), rule)
		}
	})
}
