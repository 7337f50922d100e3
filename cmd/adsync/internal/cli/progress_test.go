package cli

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"

	"github.com/psasync/adsync"
)

func TestProgress(t *testing.T) {
	steps := []adsync.Progress{
		{OrgID: "o", Phase: adsync.PhaseReadDirectory, Done: 500},
		{OrgID: "o", Phase: adsync.PhaseReadContacts, Done: 200},
		{OrgID: "o", Phase: adsync.PhaseReadDirectory, Done: 700},
		{OrgID: "o", Phase: adsync.PhasePlan, Done: 700, Total: 700},
		{OrgID: "o", Phase: adsync.PhaseApply, Done: 0, Total: 10},
		{OrgID: "o", Phase: adsync.PhaseApply, Done: 10, Total: 10},
	}
	for _, term := range []bool{false, true} {
		var b bytes.Buffer
		p := &progress{w: &b, terminal: term, phases: map[adsync.Phase]adsync.Progress{}}
		for _, s := range steps {
			p.update(s)
		}
		p.done()
		out := b.String()
		assert.Contains(t, out, "o: read 700 directory users, 200 Autotask contacts\n", "the reads share a line, with their last counts")
		assert.Contains(t, out, "o: planned "+strings.Repeat("█", 30)+" 700/700 users\n")
		assert.Contains(t, out, "o: applied "+strings.Repeat("█", 30)+" 10/10 changes\n")
		if term {
			assert.Contains(t, out, "\r\033[K", "redrawn in place on a terminal")
		} else {
			assert.NotContains(t, out, "\r", "plain lines otherwise")
			assert.Equal(t, 3, strings.Count(out, "\n"), "one line per stage")
		}
	}
}

// TestProgressNarrowTerminal: on a 50-column terminal every line drawn fits
// in the width, so the bar never wraps into a screen of lines (#13).
func TestProgressNarrowTerminal(t *testing.T) {
	var b bytes.Buffer
	p := &progress{w: &b, terminal: true, width: 50, phases: map[adsync.Phase]adsync.Progress{}}
	for _, s := range []adsync.Progress{
		{OrgID: "a-rather-long-organization-id", Phase: adsync.PhaseReadDirectory, Done: 123456},
		{OrgID: "a-rather-long-organization-id", Phase: adsync.PhaseReadContacts, Done: 120000},
		{OrgID: "a-rather-long-organization-id", Phase: adsync.PhasePlan, Done: 200000, Total: 400000},
		{OrgID: "a-rather-long-organization-id", Phase: adsync.PhaseApply, Done: 5, Total: 400000},
	} {
		p.update(s)
	}
	p.done()
	for _, seg := range strings.FieldsFunc(strings.ReplaceAll(b.String(), "\r\033[K", "\n"), func(r rune) bool { return r == '\n' }) {
		assert.LessOrEqual(t, utf8.RuneCountInString(seg), 49, "%q", seg)
	}
	assert.Contains(t, b.String(), "planned", "the bar is still drawn")
}

// TestProgressLogLine: a log line written while a bar is drawn clears the
// bar first and redraws it after, instead of landing on the bar's line.
func TestProgressLogLine(t *testing.T) {
	var b bytes.Buffer
	p := &progress{w: &b, terminal: true, width: 80, phases: map[adsync.Phase]adsync.Progress{}}
	p.update(adsync.Progress{OrgID: "o", Phase: adsync.PhasePlan, Done: 1, Total: 2})
	_, err := p.logWriter().Write([]byte("level=WARN msg=retry\n"))
	assert.NoError(t, err)
	out := b.String()
	i := strings.Index(out, "level=WARN")
	assert.True(t, strings.HasSuffix(out[:i], "\r\033[K"), "the bar's line is cleared before the log line: %q", out)
	assert.Contains(t, out[i:], "msg=retry\n\r\033[Ko: planned", "and the bar redrawn after it")
}
