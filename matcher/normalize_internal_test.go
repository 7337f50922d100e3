package matcher

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// The table-driven fast path must agree with the definition, including on
// combining sequences whose marks canonical ordering would reorder.
func TestNormalizeFastPathMatchesDefinition(t *testing.T) {
	inputs := []string{
		"José", "Jose\u0301", "e\u0323\u0302", "e\u0302\u0323", "Ǆemal", "ǅ", "Ǳ", "ĳssel", "ŉ", "ſ", "ΐ", "ς",
		"Ω", "Ὀδυσσεύς", "Дмитрий", "Ёлка", "ԱՐՄԵՆ", "և", "שָׁלוֹם", "مُحَمَّد", "ﬁ", "Łódź", "Ørsted",
		"Straße", "ẞ", "Ǻngström", "K", "µ", "ª", "²", "½", "İ", "ı", "ǰ", "Ⱥ",
	}
	for r := rune(0x80); r < tableSize; r++ {
		inputs = append(inputs, "A"+string(r)+"b")
	}
	for _, s := range inputs {
		want := string(appendNormalizedSlow(nil, s))
		assert.Equal(t, want, string(appendNormalized(nil, s)), "%q %U", s, []rune(s))
		assert.Equal(t, want, Normalize(s), "%q", s)
	}
}

// FuzzNormalize checks, for any string, that the fast paths agree with the
// definition and that normalizing twice changes nothing.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"O'Brien", "José", "Jose\u0301", "Straße", "Дмитрий", "李小龍", "ǅemal", "ﬁ", "İ", "", " -- "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := string(appendNormalizedSlow(nil, s))
		got := Normalize(s)
		if got != want {
			t.Fatalf("Normalize(%q) = %q, definition gives %q", s, got, want)
		}
		if again := Normalize(got); again != got {
			t.Fatalf("Normalize(%q) = %q, but Normalize(%q) = %q", s, got, got, again)
		}
	})
}
