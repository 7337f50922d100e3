package cli

import (
	"bytes"
	"strings"
	"testing"

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
