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
