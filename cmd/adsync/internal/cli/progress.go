package cli

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

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
	// width is the terminal's width in columns (0: unknown, lines are not
	// cut); a drawn line stays within it, so it never wraps.
	width int
	// current is the line drawn in place, redrawn after a log line.
	current string
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
	p := &progress{w: a.stderr, terminal: term, phases: map[adsync.Phase]adsync.Progress{}}
	if term {
		p.width = terminalWidth(a.stderr, a.getenv)
	}
	a.bar = p
	return p
}

// terminalWidth returns the width of the terminal w writes to: asked of the
// terminal, else $COLUMNS, else 80.
func terminalWidth(w io.Writer, getenv func(string) string) int {
	if f, ok := w.(*os.File); ok {
		if n := ttyWidth(f); n > 0 {
			return n
		}
	}
	if n, err := strconv.Atoi(getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	return 80
}

// logWriter returns a writer for log lines: on a terminal with a line
// drawn, it clears the line before the log line and redraws it after, so
// that neither lands on the other.
func (p *progress) logWriter() io.Writer { return progressLog{p} }

type progressLog struct{ p *progress }

func (l progressLog) Write(b []byte) (int, error) {
	p := l.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.terminal || !p.drawn {
		return p.w.Write(b)
	}
	fmt.Fprint(p.w, "\r\033[K")
	n, err := p.w.Write(b)
	fmt.Fprintf(p.w, "\r\033[K%s", p.current)
	return n, err
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
		p.current = p.lineLocked(stageOf(pr.Phase))
		fmt.Fprintf(p.w, "\r\033[K%s", p.current)
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

// lineLocked returns a stage's line, cut to the terminal's width.
func (p *progress) lineLocked(s stage) string {
	line := p.fullLineLocked(s)
	if p.width <= 0 || utf8.RuneCountInString(line) < p.width {
		return line
	}
	// The last column stays free: a character there wraps on some
	// terminals.
	r := []rune(line)
	return string(r[:max(p.width-2, 0)]) + "…"
}

func (p *progress) fullLineLocked(s stage) string {
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
			prefix := p.org + ": planned "
			return prefix + bar(pr.Done, pr.Total, "users", p.barWidth(prefix, pr.Total, "users"))
		}
	case stageApply:
		if pr, ok := p.phases[adsync.PhaseApply]; ok && pr.Total > 0 {
			prefix := p.org + ": applied "
			return prefix + bar(pr.Done, pr.Total, "changes", p.barWidth(prefix, pr.Total, "changes"))
		}
	}
	return ""
}

// barWidth is the bar's width in columns: 30, less on a narrow terminal,
// so that the line with its counts fits.
func (p *progress) barWidth(prefix string, total int, unit string) int {
	const full = 30
	if p.width <= 0 {
		return full
	}
	counts := len(fmt.Sprintf(" %d/%d %s", total, total, unit))
	return max(0, min(full, p.width-1-utf8.RuneCountInString(prefix)-counts))
}

func bar(done, total int, unit string, width int) string {
	if total <= 0 {
		return fmt.Sprintf("%d %s", done, unit)
	}
	if width == 0 {
		return fmt.Sprintf("%d/%d %s", done, total, unit)
	}
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
		p.drawn, p.current = false, ""
	}
}
