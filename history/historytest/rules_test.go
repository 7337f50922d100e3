package historytest

import (
	"reflect"
	"testing"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/internal/conform"
)

// parts are the types whose doc comments state the HistoryStore contract.
var parts = []reflect.Type{
	reflect.TypeFor[adsync.HistoryStore](), reflect.TypeFor[adsync.RunStore](), reflect.TypeFor[adsync.LinkStore](),
	reflect.TypeFor[adsync.ChangeStore](), reflect.TypeFor[adsync.ConflictStore](), reflect.TypeFor[adsync.ExemptionStore](),
	reflect.TypeFor[adsync.NoticeStore](), reflect.TypeFor[adsync.Locker](), reflect.TypeFor[adsync.Lock](),
}

// Every rule the suite enforces names the doc comment that states it: the
// rule of every case Run runs, and the rule constants of the checks the
// cases and the exported tests share.
func TestRulesNameTheirContract(t *testing.T) {
	n := 0
	for _, group := range cases() {
		for _, tc := range group {
			n++
			if !conform.CheckRuleName(t, tc.rule, parts...) {
				t.Errorf("(the rule above is of case %q)", tc.name)
			}
		}
	}
	if n == 0 {
		t.Error("Run runs no cases")
	}
	for _, file := range []string{"historytest.go", "cancel.go", "text.go", "notice.go", "deadholder.go", "hostile.go"} {
		conform.CheckRuleNames(t, file, parts...)
	}
}
