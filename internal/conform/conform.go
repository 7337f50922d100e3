// Package conform holds what the conformance suites (contacts/contactstest,
// source/sourcetest) share: one format for a broken contract, so that
// every suite's failures read alike.
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
