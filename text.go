package adsync

import (
	"strings"
	"unicode/utf8"
)

// cleanText returns s as valid UTF-8 without NUL bytes, and whether it had
// to change it (R-FIELD-8). Every byte that is not part of a valid UTF-8
// sequence is read as Latin-1 (ISO 8859-1), the usual encoding of such
// bytes in older directories: "Jos\xe9" becomes "José", and the same bytes
// always give the same text, so the contact written once equals the
// directory's value on the next run (R-RUN-8). NUL bytes are removed:
// PostgreSQL cannot store them and no Autotask field holds them.
func cleanText(s string) (string, bool) {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s, false
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			b.WriteRune(rune(s[i])) // a Latin-1 byte
		case r == 0:
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String(), true
}

// maxLabel bounds the display name of a user kept in plans and run
// records: a directory can hold megabytes in a name (R-RUN-4).
const maxLabel = 256

// maxRecordText bounds each text of a run record (a warning, a skip's
// reason, an error), so that a run's record stays small whatever the
// directory holds (R-RUN-4).
const maxRecordText = 1024

// cutText cuts s to at most max bytes at a rune boundary, marking the cut.
func cutText(s string, max int) string {
	if len(s) <= max {
		return s
	}
	const mark = "…"
	i := max - len(mark)
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + mark
}

// cleanUser cleans the text of a user as the directory delivered it:
// invalid bytes and NULs (cleanText), and an over-long display name. It
// returns the names of the fields it changed, for a warning.
func cleanUser(u *User) (changed []string) {
	fix := func(name string, p *string) {
		if s, ok := cleanText(*p); ok {
			*p = s
			changed = append(changed, name)
		}
	}
	fix("id", &u.ID)
	fix("userPrincipalName", &u.UPN)
	fix("name", &u.Name)
	for f := Field(0); f < NumFields; f++ {
		fix(f.String(), &u.Values[f])
	}
	u.Name = cutText(u.Name, maxLabel)
	return changed
}
