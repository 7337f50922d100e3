package matcher

import (
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Normalize is the default name normalizer (R-MATCH-6): Unicode NFKD, case
// folding (simple folding, plus ß to ss as in full folding), and only
// letters and digits kept, so combining marks, spaces and punctuation go.
// "O'Brien" gives "obrien", "Mary-Jane" and "Mary Jane" give "maryjane",
// "José" gives "jose", "Straße" gives "strasse"; letters of non-Latin
// scripts are kept ("Дмитрий" gives "дмитрии": the breve of й is a mark).
// It is safe for concurrent use.
func Normalize(s string) string {
	if isASCII(s) {
		var buf [64]byte
		return string(appendASCII(buf[:0], s))
	}
	return string(appendNormalized(nil, s))
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// appendNormalized appends the normalized form of s to dst without
// allocating, unless dst must grow, for ASCII and for the scripts of the
// table (Latin, Greek, Cyrillic, Armenian, Hebrew, Arabic): at 400,000
// users and as many contacts every name is normalized once per run.
func appendNormalized(dst []byte, s string) []byte {
	if isASCII(s) {
		return appendASCII(dst, s)
	}
	tab := runeTable()
	for _, r := range s {
		if r >= tableSize {
			return appendNormalizedSlow(dst, s)
		}
	}
	for _, r := range s {
		if r < utf8.RuneSelf {
			dst = appendASCIIByte(dst, byte(r))
		} else {
			dst = append(dst, tab[r]...)
		}
	}
	return dst
}

func appendASCII(dst []byte, s string) []byte {
	dst = slices.Grow(dst, len(s))
	j := len(dst)
	dst = dst[:j+len(s)]
	for i := 0; i < len(s); i++ {
		c := s[i]
		if lc := c | 0x20; 'a' <= lc && lc <= 'z' { // only A-Z and a-z land there
			dst[j] = lc
			j++
		} else if '0' <= c && c <= '9' {
			dst[j] = c
			j++
		}
	}
	return dst[:j]
}

func appendASCIIByte(dst []byte, c byte) []byte {
	switch {
	case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		return append(dst, c)
	case 'A' <= c && c <= 'Z':
		return append(dst, c+'a'-'A')
	}
	return dst
}

// appendNormalizedSlow is the definition: decompose (NFKD), keep letters
// and digits, fold case. Since decomposition maps each rune on its own and
// canonical reordering only moves marks, which are dropped, the result is
// the concatenation of each rune's result: what the table caches.
func appendNormalizedSlow(dst []byte, s string) []byte {
	if !utf8.ValidString(s) {
		// Invalid bytes are no letters; dropped first, they cannot stop
		// the decomposition of what follows them.
		s = strings.ToValidUTF8(s, "")
	}
	for _, r := range norm.NFKD.String(s) {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			continue
		}
		switch f := unicode.ToLower(unicode.ToUpper(r)); f {
		case 'ß':
			dst = append(dst, 's', 's') // full case folding: ß, ẞ → ss
		default:
			dst = utf8.AppendRune(dst, f)
		}
	}
	return dst
}

// tableSize bounds the runes whose normalized form is cached.
const tableSize = 0x800

// runeTable caches the normalized form of every rune below tableSize. It
// is built on first use (about a millisecond), not at init, so programs
// that never meet a non-ASCII name do not pay for it.
var runeTable = sync.OnceValue(func() *[tableSize]string {
	var t [tableSize]string
	var buf [4]byte
	for r := rune(utf8.RuneSelf); r < tableSize; r++ {
		n := utf8.EncodeRune(buf[:], r)
		t[r] = string(appendNormalizedSlow(nil, string(buf[:n])))
	}
	return &t
})
