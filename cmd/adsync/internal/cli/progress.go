package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/psasync/adsync"
)

// progress shows how a run advances: a line redrawn in place on a terminal
// (a bar once the total is known), one line per finished phase otherwise
// (logs, CI, pipes). The directory and the contacts are read at the same
// time, so both reads share a line.
type progress struct {
	mu       sync.Mutex
	w        io.Writer
	terminal bool
	org      string
	phases   map[adsync.Phase]adsync.Progress
	last     time.Time
	drawn    bool
}

func (a *app) newProgress() *progress {
	term := false
	if a.terminal != nil {
		term = *a.terminal
	} else if f, ok := a.stderr.(*os.File); ok {
		if st, err := f.Stat(); err == nil {
			term = st.Mode()&os.ModeCharDevice != 0
		}
	}
	return &progress{w: a.stderr, terminal: term, phases: map[adsync.Phase]adsync.Progress{}}
}

// The lines: the two reads, then planning, then applying.
type stage int

const (
	stageRead stage = iota
	stagePlan
	stageApply
	stageNone
)

func stageOf(p adsync.Phase) stage {
	switch p {
	case adsync.PhaseReadDirectory, adsync.PhaseReadContacts:
		return stageRead
	case adsync.PhasePlan:
		return stagePlan
	case adsync.PhaseApply:
		return stageApply
	}
	return stageNone
}

// update is an adsync.Options.Progress callback.
func (p *progress) update(pr adsync.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pr.OrgID != p.org {
		p.flushLocked(stageNone)
		p.org = pr.OrgID
	}
	p.flushLocked(stageOf(pr.Phase)) // earlier stages are over
	p.phases[pr.Phase] = pr
	if !p.terminal {
		return
	}
	// Redraw at most 20 times a second, and always at the end.
	if now := time.Now(); now.Sub(p.last) >= 50*time.Millisecond || (pr.Total > 0 && pr.Done == pr.Total) {
		p.last, p.drawn = now, true
		fmt.Fprintf(p.w, "\r\033[K%s", p.lineLocked(stageOf(pr.Phase)))
	}
}

// flushLocked ends the lines of the stages before s.
func (p *progress) flushLocked(s stage) {
	for st := stageRead; st < s; st++ {
		line := p.lineLocked(st)
		if line == "" {
			continue
		}
		if p.terminal {
			fmt.Fprintf(p.w, "\r\033[K%s\n", line)
		} else {
			fmt.Fprintln(p.w, line)
		}
		p.drawn = false
		for ph := range p.phases {
			if stageOf(ph) == st {
				delete(p.phases, ph)
			}
		}
	}
}

func (p *progress) lineLocked(s stage) string {
	switch s {
	case stageRead:
		d, okD := p.phases[adsync.PhaseReadDirectory]
		c, okC := p.phases[adsync.PhaseReadContacts]
		if !okD && !okC {
			return ""
		}
		return fmt.Sprintf("%s: read %d directory users, %d Autotask contacts", p.org, d.Done, c.Done)
	case stagePlan:
		if pr, ok := p.phases[adsync.PhasePlan]; ok {
			return fmt.Sprintf("%s: planned %s", p.org, bar(pr.Done, pr.Total, "users"))
		}
	case stageApply:
		if pr, ok := p.phases[adsync.PhaseApply]; ok && pr.Total > 0 {
			return fmt.Sprintf("%s: applied %s", p.org, bar(pr.Done, pr.Total, "changes"))
		}
	}
	return ""
}

func bar(done, total int, unit string) string {
	if total <= 0 {
		return fmt.Sprintf("%d %s", done, unit)
	}
	const width = 30
	filled := width * done / total
	return fmt.Sprintf("%s %d/%d %s", strings.Repeat("█", filled)+strings.Repeat("░", width-filled), done, total, unit)
}

// done ends the last lines; call it when a run or plan returns.
func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.flushLocked(stageNone)
	if p.drawn && p.terminal {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
}
