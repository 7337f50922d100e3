package merge_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/merge"
)

// FuzzUpdate checks the field rules' guarantees for any directory value:
// a blank value writes nothing (R-FIELD-1); a written value is trimmed,
// non-blank, at most the maximum length in runes (R-FIELD-4), a prefix of
// the trimmed directory value, and differs from the contact's (R-FIELD-3).
func FuzzUpdate(f *testing.F) {
	for _, s := range []string{"", "  ", "CTO", " Head of IT ", strings.Repeat("é", 60), strings.Repeat("x", 49) + "  yy", "😀\u0301"} {
		f.Add(s, "CTO")
	}
	rules, err := merge.New(adsync.FieldParams{Selected: adsync.AllFieldSet})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, dir, current string) {
		if !utf8.ValidString(dir) {
			t.Skip("directories deliver UTF-8")
		}
		u := &adsync.User{ID: "u1", Values: adsync.Values{adsync.Title: dir}}
		c := &adsync.Contact{ID: 1, Values: adsync.Values{adsync.Title: current}}
		up, _ := rules.Update(u, c)
		if !up.Fields.Has(adsync.Title) {
			return
		}
		v := up.Values[adsync.Title]
		switch {
		case strings.TrimSpace(dir) == "":
			t.Fatalf("blank %q wrote %q", dir, v)
		case v == "" || v != strings.TrimSpace(v):
			t.Fatalf("%q wrote untrimmed or blank %q", dir, v)
		case utf8.RuneCountInString(v) > adsync.Title.MaxLen():
			t.Fatalf("%q wrote %d runes", dir, utf8.RuneCountInString(v))
		case !strings.HasPrefix(strings.TrimSpace(dir), v):
			t.Fatalf("%q wrote %q, not a prefix", dir, v)
		case v == strings.TrimSpace(current):
			t.Fatalf("%q wrote %q, equal to the contact's %q", dir, v, current)
		}
	})
}
