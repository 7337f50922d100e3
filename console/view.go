package console

import (
	"fmt"
	"html/template"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/psasync/adsync"
)

var funcs = template.FuncMap{
	"when":     when,
	"whenUTC":  whenUTC,
	"dur":      took,
	"mark":     statusMark,
	"tlsClass": tlsClass,
	"kindMark": func(k adsync.ChangeKind) string { return kindMarks[k] },
	"runTitle": runTitle,
	"join":     strings.Join,
	"add":      func(a, b int) int { return a + b },
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// when formats a time for a table: UTC to the minute, "never" for zero.
func when(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// took formats a run's duration: to the second, or to the millisecond
// when shorter; "—" while it runs.
func took(d time.Duration) string {
	switch {
	case d <= 0:
		return "—"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// whenUTC is when without the zone, for columns whose heading says UTC.
func whenUTC(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04")
}

// statusMark is the icon of a run status; the status is also given as text
// for screen readers and in the title.
func statusMark(s adsync.RunStatus) string {
	switch s {
	case adsync.StatusSucceeded:
		return "✓"
	case adsync.StatusFailed:
		return "✗"
	case adsync.StatusHeld:
		return "‖"
	case adsync.StatusInterrupted:
		return "!"
	case adsync.StatusRunning:
		return "…"
	}
	return "?"
}

// tlsClass is the CSS class of a TLS status: bad ones stand out.
func tlsClass(t adsync.TLSStatus) string {
	if tlsNeedsAttention(t) {
		return "bad"
	}
	return ""
}

func tlsNeedsAttention(t adsync.TLSStatus) bool {
	switch t {
	case adsync.TLSExpiring, adsync.TLSExpired, adsync.TLSUntrusted, adsync.TLSHostnameMismatch:
		return true
	}
	return false
}

var kindMarks = map[adsync.ChangeKind]string{
	adsync.ChangeCreate: "+", adsync.ChangeLink: "=", adsync.ChangeUpdate: "~", adsync.ChangeReactivate: "^", adsync.ChangeDeactivate: "×", adsync.ChangeUnlink: "−",
}

// runTitle is the hover text of a run's icon: what, when, the counts.
func runTitle(r adsync.RunOutcome) string {
	s := fmt.Sprintf("Run %d (%s) %s: %s. %s", r.ID, r.Trigger, when(r.Started), r.Status, r.Counts.String())
	if r.Error != "" {
		s += ". Error: " + r.Error
	}
	return s
}

// runStrip renders the icons of an organization's last runs, each linking
// to the run with its summary on hover. It is built here rather than in the
// template, escaping each value itself: with 500 organizations of 10 runs
// each, the template's per-value escapers were most of the page's cost.
func runStrip(prefix, orgID string, runs []adsync.RunOutcome) template.HTML {
	var b strings.Builder
	for i := range runs {
		r := &runs[i]
		id := strconv.FormatInt(r.ID, 10)
		b.WriteString(`<a class="run s-`)
		b.WriteString(template.HTMLEscapeString(string(r.Status)))
		b.WriteString(`" href="`)
		b.WriteString(template.HTMLEscapeString(prefix + "/org/" + url.PathEscape(orgID) + "/run/" + id))
		b.WriteString(`" title="`)
		b.WriteString(template.HTMLEscapeString(runTitle(*r)))
		b.WriteString(`"><span aria-hidden="true">`)
		b.WriteString(statusMark(r.Status))
		b.WriteString(`</span><span class="visually-hidden">run `)
		b.WriteString(id)
		b.WriteString(" ")
		b.WriteString(template.HTMLEscapeString(string(r.Status)))
		b.WriteString(`</span></a>`)
	}
	return template.HTML(b.String()) // every value above is escaped
}

// orgRow is one row of the organizations page.
type orgRow struct {
	adsync.OrgStatus
	NextDue   time.Time
	HasNext   bool
	Running   bool
	RunStrip  template.HTML
	Attention []string // why the organization needs attention; empty if it does not
}

// attention lists why an organization needs attention: its last run held
// deactivations or failed, it has open conflicts, or its directory's
// certificate is in trouble.
func attention(st *adsync.OrgStatus) []string {
	var why []string
	if len(st.Runs) > 0 {
		switch st.Runs[0].Status {
		case adsync.StatusHeld:
			why = append(why, "held")
		case adsync.StatusFailed, adsync.StatusInterrupted:
			why = append(why, "failed")
		}
	}
	if st.OpenConflicts > 0 {
		why = append(why, "conflicts")
	}
	if tlsNeedsAttention(st.TLS) {
		why = append(why, "TLS")
	}
	return why
}

// matches reports whether the row matches a search: a case-insensitive
// part of its name or id, or its company id.
func (r *orgRow) matches(q string) bool {
	if q == "" {
		return true
	}
	q = strings.ToLower(q)
	return strings.Contains(strings.ToLower(r.Name), q) || strings.Contains(strings.ToLower(r.OrgID), q) ||
		strconv.FormatInt(r.CompanyID, 10) == q
}

// diffLine is one line of a change's diff.
type diffLine struct {
	Field  string
	Before string
	After  string
}

// changeView is one planned change, ready to show.
type changeView struct {
	Kind   adsync.ChangeKind
	Mark   string
	Rule   string
	User   string
	Target string
	Create bool // a created contact: values only, no before
	Lines  []diffLine
}

func viewChange(c *adsync.Change) changeView {
	v := changeView{Kind: c.Kind, Mark: kindMarks[c.Kind], Rule: c.Rule, User: c.User, Create: c.Kind == adsync.ChangeCreate}
	switch {
	case c.Kind == adsync.ChangeCreate:
		v.Target = "new contact"
	case c.Contact != "":
		v.Target = c.Contact
	default:
		v.Target = "contact " + strconv.FormatInt(c.ContactID, 10)
	}
	if c.Active != nil {
		v.Lines = append(v.Lines, diffLine{Field: "isActive", Before: b01(!*c.Active), After: b01(*c.Active)})
	}
	for _, f := range c.Fields {
		v.Lines = append(v.Lines, diffLine{Field: f.Field.String(), Before: f.Before, After: f.After})
	}
	for _, l := range c.Unlinked {
		v.Lines = append(v.Lines, diffLine{Field: "link of user " + l.UserID, Before: "contact " + strconv.FormatInt(l.ContactID, 10), After: "dropped"})
	}
	return v
}

func b01(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
