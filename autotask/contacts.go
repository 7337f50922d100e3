package autotask

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/psasync/adsync"
)

// Compile-time checks of the interfaces the Client implements.
var (
	_ adsync.ContactStore           = (*Client)(nil)
	_ adsync.BillingProductAssigner = (*Client)(nil)
	_ adsync.CountryLister          = (*Client)(nil)
	_ adsync.ContactGetter          = (*Client)(nil)
)

// pageSize is Autotask's largest page (§3.4).
const pageSize = adsync.MaxPageSize

// contactsEndpoint is the one in-flight bucket of all contact traffic,
// Companies/{id}/Contacts included (§5.2 [I]).
const contactsEndpoint = "Contacts"

// filter is one QueryModel condition (§3.2).
type filter struct {
	Op    string   `json:"op"`
	Field string   `json:"field,omitempty"`
	Value any      `json:"value,omitempty"`
	Items []filter `json:"items,omitempty"`
}

// queryBody is a QueryModel, in the casing of Autotask's published
// contract (Autotask accepts any casing, §3.2).
type queryBody struct {
	MaxRecords    int      `json:"maxRecords,omitempty"`
	IncludeFields []string `json:"includeFields,omitempty"`
	Filter        []filter `json:"filter"`
}

// blankable reads a JSON string, number, boolean or null as a string: ""
// and null both read as blank (§2.2).
type blankable string

func (b *blankable) UnmarshalJSON(data []byte) error {
	switch {
	case string(data) == "null":
		*b = ""
	case len(data) > 0 && data[0] == '"':
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		*b = blankable(s)
	default:
		*b = blankable(data)
	}
	return nil
}

// wireContact is a contact as Autotask returns it (fields the sync uses).
type wireContact struct {
	ID               int64     `json:"id"`
	CompanyID        int64     `json:"companyID"`
	IsActive         blankable `json:"isActive"`
	LastModifiedDate blankable `json:"lastModifiedDate"`
	FirstName        blankable `json:"firstName"`
	LastName         blankable `json:"lastName"`
	MiddleInitial    blankable `json:"middleInitial"`
	EmailAddress     blankable `json:"emailAddress"`
	Title            blankable `json:"title"`
	Phone            blankable `json:"phone"`
	MobilePhone      blankable `json:"mobilePhone"`
	FaxNumber        blankable `json:"faxNumber"`
	AlternatePhone   blankable `json:"alternatePhone"`
	AddressLine      blankable `json:"addressLine"`
	AddressLine1     blankable `json:"addressLine1"`
	City             blankable `json:"city"`
	State            blankable `json:"state"`
	ZipCode          blankable `json:"zipCode"`
	CountryID        blankable `json:"countryID"`
	RoomNumber       blankable `json:"roomNumber"`
	// UserDefinedFields come with every contact a query returns, whatever
	// includeFields names, or are left out when none has a value (§2.5).
	UserDefinedFields []wireUDF `json:"userDefinedFields"`
}

// wireUDF is one user-defined field of an entity (§2.5).
type wireUDF struct {
	Name  string    `json:"name"`
	Value blankable `json:"value"`
}

// exempt reports whether the user-defined field named exemptUDF holds a
// truthy value (Config.ExemptUDF); false when exemptUDF is "".
func (w *wireContact) exempt(exemptUDF string) bool {
	if exemptUDF == "" {
		return false
	}
	for _, u := range w.UserDefinedFields {
		if strings.EqualFold(u.Name, exemptUDF) {
			switch strings.ToLower(strings.TrimSpace(string(u.Value))) {
			case "true", "yes", "y", "1", "x":
				return true
			}
			return false
		}
	}
	return false
}

// contact converts w; exemptUDF is Config.ExemptUDF.
func (w *wireContact) contact(exemptUDF string) adsync.Contact {
	c := adsync.Contact{
		ID: w.ID, CompanyID: w.CompanyID, Exempt: w.exempt(exemptUDF),
		// isActive is 0/1 on Contacts (§2.2); a boolean is tolerated.
		Active: w.IsActive == "1" || w.IsActive == "true",
		Values: adsync.Values{
			adsync.FirstName: string(w.FirstName), adsync.LastName: string(w.LastName),
			adsync.MiddleInitial: string(w.MiddleInitial), adsync.Email: string(w.EmailAddress),
			adsync.Title: string(w.Title), adsync.Phone: string(w.Phone),
			adsync.MobilePhone: string(w.MobilePhone), adsync.Fax: string(w.FaxNumber),
			adsync.AlternatePhone: string(w.AlternatePhone), adsync.AddressLine: string(w.AddressLine),
			adsync.AddressLine2: string(w.AddressLine1), adsync.City: string(w.City),
			adsync.State: string(w.State), adsync.ZipCode: string(w.ZipCode),
			adsync.CountryID: string(w.CountryID), adsync.RoomNumber: string(w.RoomNumber),
		},
	}
	if t, err := time.Parse(time.RFC3339Nano, string(w.LastModifiedDate)); err == nil {
		c.LastModified = t.UTC()
	} else if t, err := time.Parse("2006-01-02T15:04:05.999999999", string(w.LastModifiedDate)); err == nil {
		c.LastModified = t // Autotask times are UTC (§2.2)
	}
	return c
}

// wireTime formats a time for a filter: UTC, milliseconds, Z.
func wireTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// includeFields lists the fields to read: the selected ones plus those
// every Contact needs.
func includeFields(fs adsync.FieldSet) []string {
	names := []string{"id", "companyID", "isActive", "lastModifiedDate"}
	for _, f := range fs.Fields() {
		names = append(names, f.String())
	}
	return names
}

// Contacts reads every contact of a company (§3.4), at most 500 per
// query, and hands the pages to page in ascending id order, one at a
// time. A company of more than one page is read in up to readRanges id
// ranges at once, as many as Autotask lets a client have in flight: the
// first page and a count of the company's contacts give the split points
// (the ids are spread as densely as on the first page), the last range
// is open-ended so that the read is complete whatever the estimate, and
// the pages of the later ranges wait in memory until the earlier ranges
// are delivered. It costs one call more than a single cursor (the count),
// and up to readRanges-1 short pages more when it splits (only past
// minSplit contacts), and at Autotask's latency about a third of the time.
func (c *Client) Contacts(ctx context.Context, companyID int64, fields adsync.FieldSet, page func([]adsync.Contact) error) error {
	first, err := c.contactPage(ctx, companyID, fields, 0, 0, nil)
	if err != nil {
		return fail(fmt.Sprintf("read the contacts of company %d (page 1)", companyID), err)
	}
	if len(first.items) == 0 {
		// An empty answer may mean a wrong company id: say so.
		if err := c.companyExists(ctx, companyID); err != nil {
			return fail(fmt.Sprintf("read the contacts of company %d", companyID), err)
		}
		return nil
	}
	last := first.items[len(first.items)-1].ID
	if err := page(first.items); err != nil {
		return err
	}
	if !first.full {
		return nil
	}
	splits := c.splitPoints(ctx, companyID, first.items[0].ID, last, len(first.items))
	if len(splits) == 0 {
		return c.scanRange(ctx, companyID, fields, last, 0, 2, page)
	}
	return c.readInRanges(ctx, companyID, fields, append(append([]int64{last}, splits...), 0), page)
}

// readRanges is the number of id ranges Contacts reads at once: Autotask's
// thread limit per endpoint (§5.2).
const readRanges = DefaultMaxInFlight

// minSplit is the fewest contacts after the first page worth splitting:
// each range ends with a page that is not full, so ranges cost up to
// readRanges-1 calls more than one cursor; below two pages per range
// that would be a large share of the read's calls for a second or two.
const minSplit = 2 * readRanges * pageSize

// splitPoints returns the ids that split the contacts after last into
// readRanges ranges of about as many contacts, from a count of the
// company's contacts and the density of ids on the first page (lo to last,
// n contacts). It returns none when the rest is too small to split or the
// count fails (the read then follows one cursor: the count is an
// optimization, not a requirement).
func (c *Client) splitPoints(ctx context.Context, companyID, lo, last int64, n int) []int64 {
	var res struct {
		QueryCount *int `json:"queryCount"`
	}
	q := queryBody{Filter: []filter{{Op: "eq", Field: "companyID", Value: companyID}}}
	if err := c.do(ctx, &request{method: http.MethodPost, path: "Contacts/query/count",
		endpoint: contactsEndpoint, body: q, out: &res, idempotent: true}); err != nil || res.QueryCount == nil {
		c.log.Debug("autotask: no contact count, reading with one cursor", "companyId", companyID, "err", err)
		return nil
	}
	rest := *res.QueryCount - n
	if rest <= minSplit {
		return nil
	}
	// ids per contact on the first page, at least 1 (ids are unique).
	step := max(float64(last-lo)/float64(max(n-1, 1)), 1)
	span := float64(rest) * step
	var out []int64
	for k := 1; k < readRanges; k++ {
		s := last + int64(span*float64(k)/readRanges)
		if len(out) > 0 && s <= out[len(out)-1] || s <= last {
			continue
		}
		out = append(out, s)
	}
	return out
}

// readInRanges reads the ranges (bounds[i], bounds[i+1]] at once (the last
// bound 0: no upper end) and hands their pages to page in range order.
func (c *Client) readInRanges(ctx context.Context, companyID int64, fields adsync.FieldSet, bounds []int64, page func([]adsync.Contact) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	n := len(bounds) - 1
	type result struct {
		pages [][]adsync.Contact
		err   error
	}
	// Each later range keeps its pages until the earlier ones are
	// delivered; the first range is delivered as it is read.
	results := make([]chan result, n)
	for i := 1; i < n; i++ {
		results[i] = make(chan result, 1)
		go func(i int) {
			var r result
			r.err = c.scanRange(ctx, companyID, fields, bounds[i], bounds[i+1], 1, func(cs []adsync.Contact) error {
				r.pages = append(r.pages, cs)
				return nil
			})
			results[i] <- r
		}(i)
	}
	// The goroutines end once ctx is cancelled (deferred): wait for them
	// so that none outlives the call.
	defer func() {
		cancel()
		for i := 1; i < n; i++ {
			if results[i] != nil {
				<-results[i]
			}
		}
	}()
	if err := c.scanRange(ctx, companyID, fields, bounds[0], bounds[1], 2, page); err != nil {
		return err
	}
	for i := 1; i < n; i++ {
		r := <-results[i]
		results[i] = nil
		if r.err != nil {
			return r.err
		}
		for j, cs := range r.pages {
			// Dropped once handed over: the caller keeps its own copy,
			// and a range held whole would be in memory twice.
			r.pages[j] = nil
			if err := page(cs); err != nil {
				return err
			}
		}
	}
	return nil
}

// contactAnswer is one page of contacts, sorted by id.
type contactAnswer struct {
	items []adsync.Contact
	full  bool // the server returned a whole page: there may be more
}

// contactPage reads the contacts of the company with ids after after and
// (before > 0) before before.
func (c *Client) contactPage(ctx context.Context, companyID int64, fields adsync.FieldSet, after, before int64, extra []filter) (contactAnswer, error) {
	f := append([]filter{{Op: "eq", Field: "companyID", Value: companyID}, {Op: "gt", Field: "id", Value: after}}, extra...)
	if before > 0 {
		f = append(f, filter{Op: "lte", Field: "id", Value: before})
	}
	q := queryBody{MaxRecords: pageSize, IncludeFields: includeFields(fields), Filter: f}
	var res struct {
		Items []wireContact `json:"items"`
	}
	if err := c.do(ctx, &request{method: http.MethodPost, path: "Contacts/query", endpoint: contactsEndpoint,
		body: q, out: &res, idempotent: true}); err != nil {
		return contactAnswer{}, err
	}
	cs := make([]adsync.Contact, len(res.Items))
	for i := range res.Items {
		cs[i] = res.Items[i].contact(c.cfg.ExemptUDF)
	}
	slices.SortFunc(cs, func(a, b adsync.Contact) int { return compareInt(a.ID, b.ID) })
	for len(cs) > 0 && cs[0].ID <= after {
		cs = cs[1:] // never hand a contact twice, whatever the server does
	}
	for len(cs) > 0 && before > 0 && cs[len(cs)-1].ID > before {
		cs = cs[:len(cs)-1] // nor one of another range
	}
	return contactAnswer{items: cs, full: len(res.Items) >= pageSize && len(cs) > 0}, nil
}

// scanRange reads the contacts with ids in (after, before] (before 0: no
// upper end) with the id cursor, one page after the other; n numbers the
// range's first page in errors (within the range; the first range
// continues the count of the first page).
func (c *Client) scanRange(ctx context.Context, companyID int64, fields adsync.FieldSet, after, before int64, n int, page func([]adsync.Contact) error) error {
	for ; ; n++ {
		if err := ctx.Err(); err != nil {
			return fail(fmt.Sprintf("read the contacts of company %d", companyID), err)
		}
		a, err := c.contactPage(ctx, companyID, fields, after, before, nil)
		if err != nil {
			return fail(fmt.Sprintf("read the contacts of company %d (ids %d to %s, page %d)", companyID, after+1, upTo(before), n), err)
		}
		if len(a.items) > 0 {
			after = a.items[len(a.items)-1].ID
			if err := page(a.items); err != nil {
				return err
			}
		}
		if !a.full {
			return nil
		}
	}
}

// upTo names the upper end of an id range for errors.
func upTo(before int64) string {
	if before == 0 {
		return "the last"
	}
	return strconv.FormatInt(before, 10)
}

func compareInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// companyExists returns nil, or the error of the op "check that company N
// exists": of kind ErrNotFound, naming the setting to fix, when Autotask
// has no such company. It counts the company with Companies/query/count
// rather than read the whole company record.
func (c *Client) companyExists(ctx context.Context, companyID int64) error {
	op := fmt.Sprintf("check that company %d exists", companyID)
	var res struct {
		QueryCount *int `json:"queryCount"`
	}
	q := queryBody{Filter: []filter{{Op: "eq", Field: "id", Value: companyID}}}
	err := c.do(ctx, &request{method: http.MethodPost, path: "Companies/query/count",
		endpoint: "Companies", body: q, out: &res, idempotent: true, check: true})
	switch {
	case err != nil:
		return fail(op, err)
	case res.QueryCount == nil:
		return &Error{Op: op, Kind: adsync.ErrUnavailable, Message: "the answer carries no queryCount: check autotask.baseUrl"}
	case *res.QueryCount == 0:
		return &Error{Op: op, Kind: adsync.ErrNotFound,
			Message: fmt.Sprintf("company %d does not exist in Autotask (or the API user cannot see it): check the organization's companyId", companyID)}
	}
	return nil
}

// Check resolves the zone, checks the credentials and reads the request
// threshold, and checks that the company exists. Each of these calls is
// bounded by Config.CheckTimeout per attempt and the whole Check by four
// times that. A zone lookup that fails is reported as such, not as a
// problem of the company.
func (c *Client) Check(ctx context.Context, companyID int64) error {
	ctx, cancel := context.WithTimeout(ctx, checkBudget*c.cfg.CheckTimeout)
	defer cancel()
	if _, err := c.baseURL(ctx); err != nil {
		return fail(fmt.Sprintf("find the zone of API user %s", c.cfg.Username), err)
	}
	return c.companyExists(ctx, companyID)
}

// GetContact reads one contact by id (adsync.ContactGetter).
func (c *Client) GetContact(ctx context.Context, id int64) (adsync.Contact, error) {
	var res struct {
		Item *wireContact `json:"item"`
	}
	err := c.do(ctx, &request{method: http.MethodGet, path: "Contacts/" + strconv.FormatInt(id, 10),
		endpoint: contactsEndpoint, out: &res, idempotent: true})
	switch {
	case err != nil:
		return adsync.Contact{}, fail(fmt.Sprintf("read contact %d", id), err)
	case res.Item == nil:
		return adsync.Contact{}, &Error{Op: fmt.Sprintf("read contact %d", id), Kind: adsync.ErrNotFound, Message: "the contact does not exist"}
	}
	return res.Item.contact(c.cfg.ExemptUDF), nil
}

// label describes values for messages: "First Last <email>".
func label(v *adsync.Values) string {
	s := strings.TrimSpace(v[adsync.FirstName] + " " + v[adsync.LastName])
	if e := v[adsync.Email]; e != "" {
		s = strings.TrimSpace(s + " <" + e + ">")
	}
	if s == "" {
		s = "(no name)"
	}
	return s
}

// wireValue converts a value for the wire: countryID as an integer, blank
// as null (which clears the field on a PATCH).
func wireValue(f adsync.Field, v string) (any, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	if f == adsync.CountryID {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("field countryID: %q is not an Autotask country id (resolve the ISO code through Countries first): %w", v, adsync.ErrValidation)
		}
		return n, nil
	}
	return v, nil
}

// Create creates the contact with POST Companies/{id}/Contacts (§4.1).
//
// A create is sent again only when it certainly did not reach Autotask or
// was not executed: a connection refused before anything was sent, a 429
// or thread-limit rejection (Autotask refuses those before doing anything,
// §5.2), or a 401 answered by a zone move. A create whose outcome is
// unknown is never sent again (R-RUN-7): after a timeout, a connection
// dropped after sending, a truncated body, a 502, 503, 504 or
// "unexpected error" 500 (a gateway or the server may have committed the
// write first), or a 200 without a usable item id, Create looks the
// contact up once by query (company, names, email, created since shortly
// before the create). Found, it returns its id. Not found, or when the
// look-up fails, it returns an error wrapping adsync.ErrOutcomeUnknown
// (never ErrValidation): Autotask may still commit the create, so the
// caller keeps it unresolved and a later read settles it. A failed
// look-up's error is wrapped too when it is systemic (it stops the run).
func (c *Client) Create(ctx context.Context, nc adsync.NewContact) (int64, error) {
	wrap := func(err error) error {
		return fail(fmt.Sprintf("create contact %s in company %d", label(&nc.Values), nc.CompanyID), err)
	}
	for _, f := range []adsync.Field{adsync.FirstName, adsync.LastName} {
		if strings.TrimSpace(nc.Values[f]) == "" {
			return 0, wrap(fmt.Errorf("field %s is blank and Autotask requires it: %w", f, adsync.ErrValidation))
		}
	}
	body := map[string]any{"companyID": nc.CompanyID, "isActive": 1}
	for f := range adsync.NumFields {
		v, err := wireValue(adsync.Field(f), nc.Values[f])
		if err != nil {
			return 0, wrap(err)
		}
		if v != nil {
			body[adsync.Field(f).String()] = v
		}
	}
	started := c.now()
	var out struct {
		ItemID int64 `json:"itemId"`
	}
	err := c.do(ctx, &request{method: http.MethodPost, path: "Companies/" + strconv.FormatInt(nc.CompanyID, 10) + "/Contacts",
		endpoint: contactsEndpoint, body: body, out: &out})
	var lost *lostResponseError
	var reason error
	switch {
	case errors.As(err, &lost):
		reason = fmt.Errorf("the answer was lost (%v)", detail(lost.err))
	case err != nil:
		return 0, wrap(err)
	case out.ItemID <= 0:
		reason = fmt.Errorf("the answer was 200 without an item id (itemId %d)", out.ItemID)
	default:
		c.markFresh(out.ItemID)
		return out.ItemID, nil
	}
	c.log.LogAttrs(ctx, slog.LevelWarn, "autotask: outcome of a create unknown; looking for the contact, never sending it again",
		slog.Int64("company", nc.CompanyID), slog.String("contact", label(&nc.Values)), slog.String("reason", reason.Error()))
	id, found, cerr := c.findCreated(ctx, &nc, started)
	switch {
	case cerr != nil && adsync.IsSystemic(cerr):
		return 0, wrap(&Error{Op: "look for the contact", Kind: adsync.ErrOutcomeUnknown, Err: cerr,
			Message: fmt.Sprintf("%v, so it may or may not exist; it is not sent again", reason)})
	case cerr != nil:
		// The look-up's own kind (a 500 read as validation) must not
		// make the create look refused: the contact may exist.
		return 0, wrap(fmt.Errorf("%v and looking for the contact failed (%v), so it may or may not exist; it is not sent again: %w", reason, detail(cerr), adsync.ErrOutcomeUnknown))
	case found:
		c.log.LogAttrs(ctx, slog.LevelInfo, "autotask: the create had succeeded", slog.Int64("contact", id))
		return id, nil
	}
	return 0, wrap(fmt.Errorf("%v and the contact is not found yet; Autotask may still commit it, so it is not sent again: %w", reason, adsync.ErrOutcomeUnknown))
}

// findCreated looks for the contact a lost create may have made: same
// company, names and email, created since shortly before the create.
func (c *Client) findCreated(ctx context.Context, nc *adsync.NewContact, started time.Time) (int64, bool, error) {
	f := []filter{
		{Op: "eq", Field: "companyID", Value: nc.CompanyID},
		{Op: "eq", Field: "firstName", Value: nc.Values[adsync.FirstName]},
		{Op: "eq", Field: "lastName", Value: nc.Values[adsync.LastName]},
		// Ten minutes of slack for the difference between the clocks.
		{Op: "gte", Field: "createDate", Value: wireTime(started.Add(-10 * time.Minute))},
	}
	if e := nc.Values[adsync.Email]; strings.TrimSpace(e) != "" {
		f = append(f, filter{Op: "eq", Field: "emailAddress", Value: e})
	} else {
		f = append(f, filter{Op: "or", Items: []filter{{Op: "notExist", Field: "emailAddress"}, {Op: "eq", Field: "emailAddress", Value: ""}}})
	}
	var res struct {
		Items []struct {
			ID int64 `json:"id"`
		} `json:"items"`
	}
	err := c.do(ctx, &request{method: http.MethodPost, path: "Contacts/query", endpoint: contactsEndpoint,
		body: queryBody{MaxRecords: pageSize, IncludeFields: []string{"id"}, Filter: f}, out: &res, idempotent: true})
	if err != nil {
		return 0, false, err
	}
	var id int64
	for _, it := range res.Items {
		id = max(id, it.ID)
	}
	return id, id != 0, nil
}

// Update applies u with PATCH Companies/{id}/Contacts: the id and the
// changed fields only, never PUT (§4.2).
func (c *Client) Update(ctx context.Context, u adsync.ContactUpdate) error {
	if u.Empty() {
		return nil
	}
	wrap := func(err error) error {
		return fail(fmt.Sprintf("update contact %d in company %d (%s)", u.ContactID, u.CompanyID, describeUpdate(&u)), err)
	}
	body := map[string]any{"id": u.ContactID}
	for _, f := range u.Fields.Fields() {
		v, err := wireValue(f, u.Values[f])
		if err != nil {
			return wrap(err)
		}
		body[f.String()] = v
	}
	if u.Active != nil {
		body["isActive"] = map[bool]int{false: 0, true: 1}[*u.Active]
	}
	err := c.do(ctx, &request{method: http.MethodPatch, path: "Companies/" + strconv.FormatInt(u.CompanyID, 10) + "/Contacts",
		endpoint: contactsEndpoint, body: body, idempotent: true})
	if err == nil {
		return nil
	}
	if errors.Is(err, adsync.ErrValidation) {
		// Autotask answers a missing contact with a 500 too: tell them apart
		// by reading it.
		got, gerr := c.GetContact(ctx, u.ContactID)
		switch {
		case errors.Is(gerr, adsync.ErrNotFound):
			return wrap(fmt.Errorf("contact %d does not exist: %w", u.ContactID, adsync.ErrNotFound))
		case gerr == nil && got.CompanyID != u.CompanyID:
			return wrap(fmt.Errorf("contact %d belongs to company %d, not %d: %w", u.ContactID, got.CompanyID, u.CompanyID, adsync.ErrNotFound))
		}
	}
	return wrap(err)
}

func describeUpdate(u *adsync.ContactUpdate) string {
	parts := []string{}
	if u.Fields != 0 {
		parts = append(parts, "fields "+u.Fields.String())
	}
	if u.Active != nil {
		parts = append(parts, "isActive "+strconv.FormatBool(*u.Active))
	}
	return strings.Join(parts, ", ")
}

// Countries returns Autotask's country list (ISO alpha-2 code and name by
// countryID), read once and then cached.
func (c *Client) Countries(ctx context.Context) ([]adsync.Country, error) {
	c.countryMu.Lock()
	defer c.countryMu.Unlock()
	if c.countries != nil {
		return slices.Clone(c.countries), nil
	}
	var out []adsync.Country
	var last int64 = -1
	for {
		var res struct {
			Items []struct {
				ID          int64     `json:"id"`
				CountryCode blankable `json:"countryCode"`
				Name        blankable `json:"name"`
				DisplayName blankable `json:"displayName"`
			} `json:"items"`
		}
		q := queryBody{MaxRecords: pageSize, Filter: []filter{{Op: "gt", Field: "id", Value: last}}}
		if err := c.do(ctx, &request{method: http.MethodPost, path: "Countries/query", endpoint: "Countries",
			body: q, out: &res, idempotent: true}); err != nil {
			return nil, fail("read the country list", err)
		}
		for _, it := range res.Items {
			name := string(it.DisplayName)
			if name == "" {
				name = string(it.Name)
			}
			if code := strings.ToUpper(strings.TrimSpace(string(it.CountryCode))); len(code) == 2 {
				out = append(out, adsync.Country{ID: it.ID, Code: code, Name: name})
			}
			last = max(last, it.ID)
		}
		if len(res.Items) < pageSize {
			break
		}
	}
	c.countries = out
	return slices.Clone(out), nil
}

// AssignBillingProduct associates a billing product with a contact the
// sync created (R-FIELD-7), effective today, with POST
// Contacts/{id}/BillingProductAssociations. It is idempotent, as
// adsync.BillingProductAssigner requires: a product the contact already has
// is not associated again, so a Syncer that assigns again after a crash
// never duplicates the association.
//
// The check costs one query. It is skipped for the first assignment to a
// contact this Client created itself (Create answered with its id) and
// has not assigned a product to yet: such a contact has none. Any other
// contact, a reconciled create from an earlier run or process included, is
// checked first.
//
// Like a create, an association whose outcome is unknown (its answer lost,
// a 5xx after the write) is looked up once and never sent again: not
// found, the error wraps adsync.ErrOutcomeUnknown, and assigning again
// later checks first.
func (c *Client) AssignBillingProduct(ctx context.Context, contactID, productID int64) error {
	wrap := func(err error) error {
		return fail(fmt.Sprintf("assign billing product %d to contact %d", productID, contactID), err)
	}
	if !c.takeFresh(contactID) {
		if has, err := c.hasBillingProduct(ctx, contactID, productID); err != nil {
			return wrap(err)
		} else if has {
			return nil
		}
	}
	today := c.now().UTC().Truncate(24 * time.Hour)
	body := map[string]any{"contactID": contactID, "billingProductID": productID, "effectiveDate": wireTime(today)}
	err := c.do(ctx, &request{method: http.MethodPost, path: "Contacts/" + strconv.FormatInt(contactID, 10) + "/BillingProductAssociations",
		endpoint: "ContactBillingProductAssociations", body: body})
	var lost *lostResponseError
	if !errors.As(err, &lost) {
		if err != nil {
			return wrap(err)
		}
		return nil
	}
	has, cerr := c.hasBillingProduct(ctx, contactID, productID)
	switch {
	case cerr != nil && adsync.IsSystemic(cerr):
		return wrap(&Error{Op: "check for the association", Kind: adsync.ErrOutcomeUnknown, Err: cerr,
			Message: fmt.Sprintf("the answer was lost (%v); it is not sent again", detail(lost.err))})
	case cerr != nil:
		return wrap(fmt.Errorf("the answer was lost (%v) and checking for the association failed (%v); it is not sent again: %w", detail(lost.err), detail(cerr), adsync.ErrOutcomeUnknown))
	case has:
		return nil
	}
	return wrap(fmt.Errorf("the answer was lost (%v) and the association is not found yet; it is not sent again: %w", detail(lost.err), adsync.ErrOutcomeUnknown))
}

// freshCap bounds the contacts remembered as fresh: the Syncer assigns the
// product right after the create, so a few thousand cover every write in
// flight, and a long-running process without billing products does not
// grow. A contact forgotten early is only checked first.
const freshCap = 4096

// markFresh records a contact this client created, which has no billing
// product yet.
func (c *Client) markFresh(id int64) {
	c.freshMu.Lock()
	defer c.freshMu.Unlock()
	c.fresh[id] = struct{}{}
	c.freshOrder = append(c.freshOrder, id)
	if len(c.freshOrder) > freshCap {
		delete(c.fresh, c.freshOrder[0])
		c.freshOrder = c.freshOrder[1:]
	}
}

// takeFresh reports whether id is a contact this client created and has
// not assigned a product to, and forgets it: assigning again checks.
func (c *Client) takeFresh(id int64) bool {
	c.freshMu.Lock()
	defer c.freshMu.Unlock()
	_, ok := c.fresh[id]
	delete(c.fresh, id)
	return ok
}

// hasBillingProduct reports whether the contact has the billing product.
func (c *Client) hasBillingProduct(ctx context.Context, contactID, productID int64) (bool, error) {
	var res struct {
		Items []struct {
			ID int64 `json:"id"`
		} `json:"items"`
	}
	q := queryBody{MaxRecords: 1, IncludeFields: []string{"id"}, Filter: []filter{
		{Op: "eq", Field: "contactID", Value: contactID}, {Op: "eq", Field: "billingProductID", Value: productID}}}
	err := c.do(ctx, &request{method: http.MethodPost, path: "ContactBillingProductAssociations/query",
		endpoint: "ContactBillingProductAssociations", body: q, out: &res, idempotent: true})
	return len(res.Items) > 0, err
}

// CountContacts returns the number of contacts of a company, active and
// inactive, with one query/count call.
func (c *Client) CountContacts(ctx context.Context, companyID int64) (int, error) {
	var res struct {
		QueryCount int `json:"queryCount"`
	}
	q := queryBody{Filter: []filter{{Op: "eq", Field: "companyID", Value: companyID}}}
	if err := c.do(ctx, &request{method: http.MethodPost, path: "Contacts/query/count", endpoint: contactsEndpoint,
		body: q, out: &res, idempotent: true}); err != nil {
		return 0, fail(fmt.Sprintf("count the contacts of company %d", companyID), err)
	}
	return res.QueryCount, nil
}

// Threshold is the database's request budget as ThresholdInformation
// reports it (§5.1).
type Threshold struct {
	// Limit is the number of requests allowed per Timeframe.
	Limit int
	// Timeframe is the rolling window, one hour.
	Timeframe time.Duration
	// Used is the number of requests in the current window, every
	// integration of the database included.
	Used int
}

// Threshold reads ThresholdInformation.
func (c *Client) Threshold(ctx context.Context) (Threshold, error) {
	t, err := c.readThreshold(ctx)
	if err != nil {
		return Threshold{}, fail("read the request threshold", err)
	}
	return t, nil
}

// readThreshold reads ThresholdInformation and updates the budget.
func (c *Client) readThreshold(ctx context.Context) (Threshold, error) {
	var t threshold
	if err := c.do(ctx, &request{method: http.MethodGet, path: "ThresholdInformation", endpoint: "ThresholdInformation",
		out: &t, idempotent: true, noBudget: true, check: true}); err != nil {
		return Threshold{}, err
	}
	c.budget.update(t)
	return Threshold{Limit: t.ExternalRequestThreshold, Timeframe: time.Duration(t.RequestThresholdTimeframe) * time.Minute,
		Used: t.CurrentTimeframeRequestCount}, nil
}
