package conform

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"
)

// recorder keeps what a check reports instead of failing the test.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

type store interface{ Put(string) error }

type lister interface{ List() []string }

func TestCheckRuleName(t *testing.T) {
	types := []reflect.Type{reflect.TypeFor[store](), reflect.TypeFor[lister]()}
	for _, tc := range []struct {
		text string
		ok   bool
	}{
		{"store.Put: stores the value", true},
		{"lister: lists in no particular order", true},
		{"lister.List: lists (in order): all of them", true},
		{"store.List: a method of the other type", false},
		{"other.Put: a type not given", false},
		{"Put: a method without its type", false},
		{"store.Put stores, without the colon", false},
		{"", false},
	} {
		r := &recorder{TB: t}
		require.Equal(t, tc.ok, CheckRuleName(r, tc.text, types...), "%q", tc.text)
		require.Equal(t, tc.ok, len(r.errs) == 0, "%q: reported %q", tc.text, r.errs)
	}
}
