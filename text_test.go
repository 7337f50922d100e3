package adsync

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

func TestCleanText(t *testing.T) {
	tests := []struct {
		name, in, want string
		changed        bool
	}{
		{"R-FIELD-8 valid text is kept", "José O'Brien", "José O'Brien", false},
		{"R-FIELD-8 a Latin-1 byte is read as Latin-1", "Jos\xe9", "José", true},
		{"R-FIELD-8 NUL removed", "Ja\x00ne", "Jane", true},
		{"R-FIELD-8 a cut UTF-8 sequence is read byte by byte", "a\xc3", "aÃ", true},
		{"R-FIELD-8 Latin-1 and UTF-8 mixed", "Müller \xfc", "Müller ü", true},
		{"R-FIELD-8 empty", "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, changed := cleanText(tc.in)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.changed, changed)
			assert.True(t, utf8.ValidString(got))
			again, changedAgain := cleanText(got)
			assert.Equal(t, got, again, "cleaning is idempotent")
			assert.False(t, changedAgain)
		})
	}
}

func TestCutText(t *testing.T) {
	s := strings.Repeat("é", 1000) // 2 bytes a rune
	got := cutText(s, 101)
	assert.LessOrEqual(t, len(got), 101)
	assert.True(t, utf8.ValidString(got), "R-RUN-4 cut at a rune boundary")
	assert.True(t, strings.HasSuffix(got, "…"))
	assert.Equal(t, "short", cutText("short", 101))
}
