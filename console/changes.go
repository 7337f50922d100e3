package console

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/psasync/adsync"
)

// ChangesPerPage is the number of change-log rows a page shows.
const ChangesPerPage = 200

// changeKinds are the kinds a change log can be filtered by, in the order
// the filter lists them.
var changeKinds = adsync.ChangeKinds()

// recordView is one row of a change log: a change a run made or tried,
// with what became of it.
type recordView struct {
	changeView
	Contact   string // the contact's label, "" when unknown
	RunID     int64
	Seq       int
	UserID    string
	ContactID int64
	Outcome   adsync.Outcome
	Error     string
	At        time.Time
}

func viewRecord(r *adsync.ChangeRecord) recordView {
	v := recordView{changeView: viewChange(&r.Change), RunID: r.RunID, Seq: r.Seq, UserID: r.UserID, ContactID: r.ContactID,
		Outcome: r.Outcome, Error: r.Error, At: r.At, Contact: r.Contact}
	if r.Kind == adsync.ChangeCreate && r.ContactID != 0 {
		v.Target = "contact " + strconv.FormatInt(r.ContactID, 10) // the contact the create made
	}
	return v
}

// changeLog is one page of a change log, with its kind filter and paging.
type changeLog struct {
	Rows    []recordView
	Total   int // records selected, on every page
	From    int // position of the first row shown, from 1
	To      int
	Kind    adsync.ChangeKind
	Kinds   []adsync.ChangeKind
	Action  string     // the page's address, for the kind filter's form
	Hidden  url.Values // the page's other filters, kept by the kind filter
	Prev    string
	Next    string
	ShowRun bool // rows of several runs: each names its run
	OrgID   string
	PerPage int
}

// logQuery is a change-log request's kind filter and page, read from the
// query string.
type logQuery struct {
	kind adsync.ChangeKind
	page int
}

// parseLogQuery reads kind and page, or returns a message naming the bad
// parameter.
func parseLogQuery(q url.Values) (logQuery, string) {
	lq := logQuery{kind: adsync.ChangeKind(q.Get("kind")), page: 1}
	if lq.kind != "" && !kindKnown(lq.kind) {
		names := make([]string, len(changeKinds))
		for i, k := range changeKinds {
			names[i] = string(k)
		}
		return lq, fmt.Sprintf("Kind %q is not a kind of change: choose one of %s.", lq.kind, strings.Join(names, ", "))
	}
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return lq, fmt.Sprintf("Page %q is not a page number: give a number from 1.", v)
		}
		lq.page = n
	}
	return lq, ""
}

func kindKnown(k adsync.ChangeKind) bool {
	for _, c := range changeKinds {
		if c == k {
			return true
		}
	}
	return false
}

// loadChangeLog reads the page of the records f selects (with the query's
// kind) that the query asks for. The whole selection is read to count it:
// a change log is bounded by the kept runs, and the count tells the
// administrator how much there is.
func (c *Console) loadChangeLog(ctx context.Context, orgID string, f adsync.ChangeFilter, lq logQuery, path string, keep url.Values) (changeLog, error) {
	f.Kind = lq.kind
	f.Limit = adsync.MaxChangePage
	l := changeLog{Kind: lq.kind, Kinds: changeKinds, Action: path, Hidden: keep, ShowRun: f.RunID == 0, OrgID: orgID, PerPage: ChangesPerPage}
	first := (lq.page - 1) * ChangesPerPage
	for rec, err := range c.opts.Syncer.AllChanges(ctx, orgID, f) {
		if err != nil {
			return l, err
		}
		if l.Total >= first && l.Total < first+ChangesPerPage {
			l.Rows = append(l.Rows, viewRecord(&rec))
		}
		l.Total++
	}
	if len(l.Rows) > 0 {
		l.From, l.To = first+1, first+len(l.Rows)
	}
	link := func(page int) string {
		q := url.Values{}
		for k, v := range keep {
			q[k] = v
		}
		if lq.kind != "" {
			q.Set("kind", string(lq.kind))
		}
		if page > 1 {
			q.Set("page", strconv.Itoa(page))
		}
		if len(q) == 0 {
			return path
		}
		return path + "?" + q.Encode()
	}
	if lq.page > 1 {
		l.Prev = link(min(lq.page-1, max(1, (l.Total+ChangesPerPage-1)/ChangesPerPage)))
	}
	if first+ChangesPerPage < l.Total {
		l.Next = link(lq.page + 1)
	}
	return l, nil
}

type changesBody struct {
	Org     adsync.OrgConfig
	Heading string
	Log     changeLog
	Prefix  string
}

// changesPage lists the changes of the organization's kept runs: to one
// contact (?contact=), of one user (?user=), or all of them; "why did this
// contact change?".
func (c *Console) changesPage(w http.ResponseWriter, r *http.Request, s *session) {
	o, ok := c.org(w, r, s)
	if !ok {
		return
	}
	q := r.URL.Query()
	lq, bad := parseLogQuery(q)
	back := c.orgURL(o.Config.ID)
	if bad != "" {
		c.messageBack(w, r, s, http.StatusBadRequest, "Bad request", bad, back, o.Config.Name)
		return
	}
	var f adsync.ChangeFilter
	keep := url.Values{}
	heading := "Changes of the kept runs"
	if v := q.Get("contact"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			c.messageBack(w, r, s, http.StatusBadRequest, "Bad request",
				fmt.Sprintf("Contact %q is not a contact id: give the Autotask id of a contact (a positive number).", v), back, o.Config.Name)
			return
		}
		f.ContactID = id
		keep.Set("contact", v)
		heading = "Changes to contact " + v
	}
	if v := q.Get("user"); v != "" {
		f.UserID = v
		keep.Set("user", v)
		if f.ContactID != 0 {
			heading += " for user " + v
		} else {
			heading = "Changes for user " + v
		}
	}
	l, err := c.loadChangeLog(r.Context(), o.Config.ID, f, lq, c.orgURL(o.Config.ID)+"/changes", keep)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	// Name the contact or user as the newest record on the page does.
	if n := len(l.Rows); n > 0 {
		last := l.Rows[n-1]
		switch {
		case f.ContactID != 0 && f.UserID == "" && last.Contact != "":
			heading = "Changes to " + last.Contact
		case f.ContactID == 0 && f.UserID != "" && last.User != "":
			heading = "Changes for user " + last.User
		}
	}
	c.render(w, r, s, http.StatusOK, "changes", heading+" · "+o.Config.Name, changesBody{Org: o.Config, Heading: heading, Log: l, Prefix: c.opts.Prefix})
}
