package contacts

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/psasync/adsync"
)

// Compile-time checks: Memory is a ContactStore with every capability.
var (
	_ adsync.ContactStore           = (*Memory)(nil)
	_ adsync.CountryLister          = (*Memory)(nil)
	_ adsync.BillingProductAssigner = (*Memory)(nil)
)

// MemoryOptions configure a Memory. The zero value is ready to use.
type MemoryOptions struct {
	// PageSize is the number of contacts per page of a read. 0 (the
	// default) means adsync.MaxPageSize (500); values above it are lowered
	// to it. Tests set a small page size to exercise paging cheaply.
	PageSize int
	// FirstID is the id of the first contact created or seeded; 0 means 1.
	FirstID int64
	// Countries is the country list that Countries returns and that
	// countryID values are checked against; nil means DefaultCountries().
	Countries []adsync.Country
	// Now is the clock that stamps LastModified; nil means time.Now. Stamps
	// carry no monotonic clock reading, as times read from Autotask do not.
	Now func() time.Time
	// NoCallLog turns off the call log (Calls returns nil) for large
	// benchmarks, where it would hold every value written. Counts and
	// APICalls are kept either way.
	NoCallLog bool
}

// Method names a ContactStore method in the call log and in fault rules.
type Method string

// The methods of Memory that count as API calls.
const (
	MethodContacts             Method = "Contacts" // one call per page
	MethodCreate               Method = "Create"
	MethodUpdate               Method = "Update"
	MethodCheck                Method = "Check"
	MethodCountries            Method = "Countries"
	MethodAssignBillingProduct Method = "AssignBillingProduct"
)

// Call describes one API call: what fault rules see before it runs, and what
// the call log records after.
type Call struct {
	// N is the call's number, 1-based, counted across every method; it is
	// the number FailCall and LoseResponse take.
	N int64
	// Method is the method called.
	Method Method
	// CompanyID is the company of a read, Create, Update or Check.
	CompanyID int64
	// ContactID is the contact of an Update or AssignBillingProduct; for a
	// Create, the id assigned, in the log only and only when Applied.
	ContactID int64
	// Page is the 1-based page number of a read.
	Page int
	// Fields are the fields written: u.Fields of an Update, the non-blank
	// fields of a Create.
	Fields adsync.FieldSet
	// Values are the values of a Create (its non-blank ones) or an Update
	// (those of Fields).
	Values adsync.Values
	// Active is u.Active of an Update.
	Active *bool
	// ProductID is the billing product of AssignBillingProduct, or the
	// BillingProductID of a Create.
	ProductID int64

	// Applied reports, in the log, that the call took effect: a write
	// that was made (even if its response was then lost) or a page read.
	Applied bool
	// Err is, in the log, the error the call returned; nil on success.
	Err error
}

// IsWrite reports whether the call is a Create, Update or
// AssignBillingProduct.
func (c *Call) IsWrite() bool {
	return c.Method == MethodCreate || c.Method == MethodUpdate || c.Method == MethodAssignBillingProduct
}

// Counts are the numbers of calls made, by kind, including the calls that
// failed. Reads are pages (one per call).
type Counts struct {
	Calls   int64 // every call: APICalls
	Reads   int64 // pages of Contacts
	Creates int64
	Updates int64
	Other   int64 // Check, Countries, AssignBillingProduct
}

// Writes returns the number of Create and Update calls.
func (c Counts) Writes() int64 { return c.Creates + c.Updates }

// Assignment is one billing product assigned to a contact.
type Assignment struct {
	ContactID int64
	ProductID int64
}

type company struct {
	name     string
	contacts []*adsync.Contact // ascending id
}

// Memory is an in-memory adsync.ContactStore. Create one with NewMemory,
// add companies with AddCompany, and seed contacts with Seed. It is safe for
// concurrent use.
type Memory struct {
	pageSize  int
	now       func() time.Time
	countries []adsync.Country
	noLog     bool

	mu        sync.Mutex
	nextID    int64
	companies map[int64]*company
	contacts  map[int64]*adsync.Contact
	products  map[int64][]int64 // contact id → billing products, in order assigned
	assigned  []Assignment

	counts    Counts
	log       []Call
	failAt    map[int64]error // call number → error (nil: the default)
	loseAt    map[int64]bool
	failRules []func(Call) error
	loseRules []func(Call) bool
}

// NewMemory returns an empty store; opts may be nil.
func NewMemory(opts *MemoryOptions) *Memory {
	var o MemoryOptions
	if opts != nil {
		o = *opts
	}
	if o.PageSize <= 0 || o.PageSize > adsync.MaxPageSize {
		o.PageSize = adsync.MaxPageSize
	}
	if o.FirstID <= 0 {
		o.FirstID = 1
	}
	if o.Countries == nil {
		o.Countries = DefaultCountries()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Memory{
		pageSize:  o.PageSize,
		now:       func() time.Time { return o.Now().Round(0) },
		countries: slices.Clone(o.Countries),
		noLog:     o.NoCallLog,
		nextID:    o.FirstID,
		companies: make(map[int64]*company),
		contacts:  make(map[int64]*adsync.Contact),
		products:  make(map[int64][]int64),
		failAt:    make(map[int64]error),
		loseAt:    make(map[int64]bool),
	}
}

// DefaultCountries returns the default country list: a few common countries
// with their ISO 3166-1 alpha-2 codes. The ids of the United States (237)
// and the United Kingdom (225) are those seen in real Autotask databases;
// the others are made up in the same style.
func DefaultCountries() []adsync.Country {
	return []adsync.Country{
		{ID: 14, Code: "AU", Name: "Australia"},
		{ID: 15, Code: "AT", Name: "Austria"},
		{ID: 22, Code: "BE", Name: "Belgium"},
		{ID: 39, Code: "CA", Name: "Canada"},
		{ID: 59, Code: "DK", Name: "Denmark"},
		{ID: 75, Code: "FR", Name: "France"},
		{ID: 82, Code: "DE", Name: "Germany"},
		{ID: 105, Code: "IE", Name: "Ireland"},
		{ID: 109, Code: "IT", Name: "Italy"},
		{ID: 155, Code: "NL", Name: "Netherlands"},
		{ID: 158, Code: "NZ", Name: "New Zealand"},
		{ID: 165, Code: "NO", Name: "Norway"},
		{ID: 203, Code: "ES", Name: "Spain"},
		{ID: 209, Code: "SE", Name: "Sweden"},
		{ID: 210, Code: "CH", Name: "Switzerland"},
		{ID: 225, Code: "GB", Name: "United Kingdom"},
		{ID: 237, Code: "US", Name: "United States"},
	}
}

// AddCompany adds a company, or renames it if it exists.
func (m *Memory) AddCompany(id int64, name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.companies[id]; ok {
		c.name = name
		return
	}
	m.companies[id] = &company{name: name}
}

// Seed adds a contact directly, bypassing Create, its validation and fault
// injection, and without counting a call: any Active flag and any values.
// c.ID, when non-zero, is the id to use (it must be free); otherwise the
// next id is assigned. A zero c.LastModified is set to now. Seed returns the
// contact's id. It panics if c.CompanyID was not added or c.ID is taken:
// those are mistakes in the test.
func (m *Memory) Seed(c adsync.Contact) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	co, ok := m.companies[c.CompanyID]
	if !ok {
		panic(fmt.Sprintf("contacts: Seed: company %d does not exist; call AddCompany first", c.CompanyID))
	}
	if c.ID == 0 {
		c.ID = m.nextID
	}
	if _, taken := m.contacts[c.ID]; taken {
		panic(fmt.Sprintf("contacts: Seed: contact id %d is taken", c.ID))
	}
	if c.ID >= m.nextID {
		m.nextID = c.ID + 1
	}
	if c.LastModified.IsZero() {
		c.LastModified = m.now()
	}
	m.insert(co, &c)
	return c.ID
}

// insert adds c to the store and to its company's list, kept ascending.
func (m *Memory) insert(co *company, c *adsync.Contact) {
	m.contacts[c.ID] = c
	i := co.after(c.ID - 1)
	co.contacts = slices.Insert(co.contacts, i, c)
}

// after returns the index of the company's first contact with an id above id.
func (co *company) after(id int64) int {
	return sort.Search(len(co.contacts), func(i int) bool { return co.contacts[i].ID > id })
}

// remove takes c out of its company's list, with m.mu held.
func (m *Memory) remove(c *adsync.Contact) {
	co := m.companies[c.CompanyID]
	if i := co.after(c.ID - 1); i < len(co.contacts) && co.contacts[i] == c {
		co.contacts = slices.Delete(co.contacts, i, i+1)
	}
	delete(m.contacts, c.ID)
}

// Delete removes a contact, as a person deleting it in Autotask does (the
// sync itself never deletes, R-DEACT-1): for tests of a link to a contact
// that no longer exists (R-LINK-4). It is not an API call. It reports
// whether the contact existed.
func (m *Memory) Delete(id int64) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.contacts[id]
	if ok {
		m.remove(c)
	}
	return ok
}

// Edit changes a contact directly, as a person editing it in Autotask does:
// fn may change anything but the ID; a new CompanyID moves the contact to
// that company, which must exist (Edit panics otherwise). LastModified is
// set to now unless fn changed it. It is not an API call, and is not
// subject to faults. It reports whether the contact exists.
func (m *Memory) Edit(id int64, fn func(*adsync.Contact)) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.contacts[id]
	if !ok {
		return false
	}
	edited := *c
	fn(&edited)
	if edited.ID != id {
		panic(fmt.Sprintf("contacts: Edit: the id of contact %d cannot change", id))
	}
	co, ok := m.companies[edited.CompanyID]
	if !ok {
		panic(fmt.Sprintf("contacts: Edit: company %d does not exist; call AddCompany first", edited.CompanyID))
	}
	if edited.LastModified.Equal(c.LastModified) {
		edited.LastModified = m.now()
	}
	m.remove(c)
	*c = edited
	m.insert(co, c)
	return true
}

// Contact returns a copy of the contact with the given id.
func (m *Memory) Contact(id int64) (adsync.Contact, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.contacts[id]
	if !ok {
		return adsync.Contact{}, false
	}
	return *c, true
}

// All returns copies of the company's contacts, sorted by id; nil for an
// unknown company.
func (m *Memory) All(companyID int64) []adsync.Contact {
	m.mu.Lock()
	defer m.mu.Unlock()
	co, ok := m.companies[companyID]
	if !ok {
		return nil
	}
	out := make([]adsync.Contact, len(co.contacts))
	for i, c := range co.contacts {
		out[i] = *c
	}
	return out
}

// BillingProducts returns the billing products assigned to the contact, in
// the order assigned.
func (m *Memory) BillingProducts(contactID int64) []int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.products[contactID])
}

// Assignments returns every billing product assignment, in the order made.
func (m *Memory) Assignments() []Assignment {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.assigned)
}

// FailCall makes call number n (see Call.N) fail without taking effect,
// returning err; a nil err means an error wrapping adsync.ErrUnavailable,
// as a server error would. The fault fires once. For a read, the pages
// before the failing one are delivered. The next call's number is
// APICalls()+1.
func (m *Memory) FailCall(n int64, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.failAt[n] = err
}

// LoseResponse makes call number n take effect and then return an error
// wrapping adsync.ErrUnavailable and adsync.ErrOutcomeUnknown, as when the response to a write that the
// server committed never reaches the client: the contact IS created or
// updated, but the caller cannot know. A Create whose response is lost
// returns id 0. The fault fires once.
func (m *Memory) LoseResponse(n int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.loseAt[n] = true
}

// FailWhere adds a fault rule: each call for which rule returns a non-nil
// error fails with it (wrapped with the call) without taking effect. Rules
// stay until ClearFaults and are checked in the order added. rule sees the
// call before it runs (Applied and Err unset; ContactID unset for a
// Create); it is called with the store's lock held, so it must not call
// the store.
func (m *Memory) FailWhere(rule func(Call) error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.failRules = append(m.failRules, rule)
}

// LoseWhere adds a fault rule: each call for which rule returns true takes
// effect and then returns an error wrapping adsync.ErrUnavailable and
// adsync.ErrOutcomeUnknown, as LoseResponse. Same conditions as FailWhere.
func (m *Memory) LoseWhere(rule func(Call) bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.loseRules = append(m.loseRules, rule)
}

// ClearFaults removes every pending fault and rule.
func (m *Memory) ClearFaults() {
	m.mu.Lock()
	defer m.mu.Unlock()
	clear(m.failAt)
	clear(m.loseAt)
	m.failRules = nil
	m.loseRules = nil
}

// Calls returns the call log: every call made, in order, with its outcome
// (nil when MemoryOptions.NoCallLog is set).
func (m *Memory) Calls() []Call {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.log)
}

// Counts returns the number of calls made, by kind.
func (m *Memory) Counts() Counts {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.counts
}

// APICalls returns the number of calls made so far, failed ones included:
// the number of the last call, for FailCall and LoseResponse. (Each call
// also counts for its run through adsync.CountAPICall.)
func (m *Memory) APICalls() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.counts.Calls
}

// fault is the fate the injected faults decide for a call.
type fault struct {
	fail error // non-nil: fail without applying
	lose bool  // apply, then report an error
}

// begin counts a call, with m.mu held, and returns its fault.
func (m *Memory) begin(c *Call) fault {
	m.counts.Calls++
	c.N = m.counts.Calls
	switch c.Method {
	case MethodContacts:
		m.counts.Reads++
	case MethodCreate:
		m.counts.Creates++
	case MethodUpdate:
		m.counts.Updates++
	default:
		m.counts.Other++
	}
	if err, ok := m.failAt[c.N]; ok {
		delete(m.failAt, c.N)
		if err == nil {
			err = adsync.ErrUnavailable
		}
		return fault{fail: fmt.Errorf("contacts: %s (call %d): injected failure: %w", c.Method, c.N, err)}
	}
	for _, rule := range m.failRules {
		if err := rule(*c); err != nil {
			return fault{fail: fmt.Errorf("contacts: %s (call %d): injected failure: %w", c.Method, c.N, err)}
		}
	}
	if m.loseAt[c.N] {
		delete(m.loseAt, c.N)
		return fault{lose: true}
	}
	for _, rule := range m.loseRules {
		if rule(*c) {
			return fault{lose: true}
		}
	}
	return fault{}
}

// end records the outcome of a call, with m.mu held, and returns the error
// the caller sees: err, or the lost response's error.
func (m *Memory) end(c *Call, f fault, applied bool, err error) error {
	if err == nil && f.lose {
		err = fmt.Errorf("contacts: %s (call %d): response lost after the server applied it: %w: %w",
			c.Method, c.N, adsync.ErrUnavailable, adsync.ErrOutcomeUnknown)
	}
	c.Applied = applied
	c.Err = err
	if !m.noLog {
		m.log = append(m.log, *c)
	}
	return err
}

// call runs one API call: counts it, applies the faults, runs apply (which
// reports whether it took effect) with m.mu held, and logs the outcome.
func (m *Memory) call(ctx context.Context, c *Call, apply func() (bool, error)) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("contacts: %s: %w", c.Method, err)
	}
	adsync.CountAPICall(ctx)
	m.mu.Lock()
	defer m.mu.Unlock()
	f := m.begin(c)
	if f.fail != nil {
		return m.end(c, f, false, f.fail)
	}
	applied, err := apply()
	return m.end(c, f, applied, err)
}

func errNoCompany(op string, id int64) error {
	return fmt.Errorf("contacts: %s: company %d does not exist: %w", op, id, adsync.ErrNotFound)
}

// Check reports whether the company exists (ErrNotFound otherwise).
func (m *Memory) Check(ctx context.Context, companyID int64) error {
	c := Call{Method: MethodCheck, CompanyID: companyID}
	return m.call(ctx, &c, func() (bool, error) {
		if _, ok := m.companies[companyID]; !ok {
			return false, errNoCompany("check", companyID)
		}
		return true, nil
	})
}

// Countries returns the country list (adsync.CountryLister).
func (m *Memory) Countries(ctx context.Context) ([]adsync.Country, error) {
	c := Call{Method: MethodCountries}
	var out []adsync.Country
	err := m.call(ctx, &c, func() (bool, error) {
		out = slices.Clone(m.countries)
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Contacts reads the company's contacts in ascending id order, one call per
// page (adsync.ContactStore). fields is ignored: every value is returned.
func (m *Memory) Contacts(ctx context.Context, companyID int64, _ adsync.FieldSet, page func([]adsync.Contact) error) error {
	return m.read(ctx, Call{Method: MethodContacts, CompanyID: companyID}, page)
}

// read pages through the company's contacts as Autotask does: each page is
// a query for ids above the last one seen, so contacts created during a
// read with higher ids are included. page is called without the lock held,
// so it may call the store.
func (m *Memory) read(ctx context.Context, c Call, page func([]adsync.Contact) error) error {
	var after int64 // the last id delivered
	buf := make([]adsync.Contact, 0, m.pageSize)
	for n := 1; ; n++ {
		c.Page = n
		buf = buf[:0]
		full := false
		err := m.call(ctx, &c, func() (bool, error) {
			co, ok := m.companies[c.CompanyID]
			if !ok {
				return false, errNoCompany("read contacts", c.CompanyID)
			}
			i := co.after(after)
			for ; i < len(co.contacts) && len(buf) < m.pageSize; i++ {
				buf = append(buf, *co.contacts[i])
			}
			// A full page may be followed by more: ask again, as a
			// client following nextPageUrl does.
			full = len(buf) == m.pageSize && i < len(co.contacts)
			return true, nil
		})
		if err != nil {
			return err
		}
		if len(buf) > 0 {
			after = buf[len(buf)-1].ID
			if err := page(buf); err != nil {
				return err
			}
		}
		if !full {
			return nil
		}
	}
}

// Create creates an active contact with the non-blank values of nc
// (adsync.ContactStore).
func (m *Memory) Create(ctx context.Context, nc adsync.NewContact) (int64, error) {
	c := Call{Method: MethodCreate, CompanyID: nc.CompanyID}
	for f := range adsync.NumFields {
		if v := nc.Values[f]; strings.TrimSpace(v) != "" {
			c.Fields = c.Fields.With(adsync.Field(f))
			c.Values[f] = v
		}
	}
	var id int64
	err := m.call(ctx, &c, func() (bool, error) {
		co, ok := m.companies[nc.CompanyID]
		if !ok {
			return false, errNoCompany("create contact", nc.CompanyID)
		}
		for _, f := range []adsync.Field{adsync.FirstName, adsync.LastName} {
			if !c.Fields.Has(f) {
				return false, fmt.Errorf("contacts: create contact in company %d: %s is required and blank: %w",
					nc.CompanyID, f, adsync.ErrValidation)
			}
		}
		if err := m.validate(c.Fields, &c.Values); err != nil {
			return false, fmt.Errorf("contacts: create contact in company %d: %w", nc.CompanyID, err)
		}
		id = m.nextID
		m.nextID++
		m.insert(co, &adsync.Contact{ID: id, CompanyID: nc.CompanyID, Active: true, Values: c.Values, LastModified: m.now()})
		c.ContactID = id
		return true, nil
	})
	if err != nil {
		return 0, err
	}
	return id, nil
}

// validate checks the values of the fields fs against Autotask's limits:
// the length of free text, and countryID in the country list.
func (m *Memory) validate(fs adsync.FieldSet, v *adsync.Values) error {
	for _, f := range fs.Fields() {
		s := v[f]
		if f == adsync.CountryID {
			if s != "" && !m.knownCountry(s) {
				return fmt.Errorf("countryID %q is not the id of a country in the country list: %w", s, adsync.ErrValidation)
			}
			continue
		}
		if n := utf8.RuneCountInString(s); n > f.MaxLen() {
			return fmt.Errorf("%s is %d characters long, more than the %d allowed: %w", f, n, f.MaxLen(), adsync.ErrValidation)
		}
	}
	return nil
}

func (m *Memory) knownCountry(s string) bool {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return false
	}
	return slices.ContainsFunc(m.countries, func(c adsync.Country) bool { return c.ID == id })
}

// Update applies the fields in u.Fields and u.Active, and stamps
// LastModified (adsync.ContactStore). Required fields cannot be blanked.
func (m *Memory) Update(ctx context.Context, u adsync.ContactUpdate) error {
	c := Call{Method: MethodUpdate, CompanyID: u.CompanyID, ContactID: u.ContactID, Fields: u.Fields, Active: u.Active}
	for _, f := range u.Fields.Fields() {
		c.Values[f] = u.Values[f]
	}
	return m.call(ctx, &c, func() (bool, error) {
		ct, ok := m.contacts[u.ContactID]
		if !ok || ct.CompanyID != u.CompanyID {
			return false, fmt.Errorf("contacts: update contact %d: no such contact in company %d: %w",
				u.ContactID, u.CompanyID, adsync.ErrNotFound)
		}
		for _, f := range u.Fields.Fields() {
			if f.Required() && strings.TrimSpace(c.Values[f]) == "" {
				return false, fmt.Errorf("contacts: update contact %d: %s is required and cannot be blanked: %w",
					u.ContactID, f, adsync.ErrValidation)
			}
		}
		if err := m.validate(u.Fields, &c.Values); err != nil {
			return false, fmt.Errorf("contacts: update contact %d: %w", u.ContactID, err)
		}
		for _, f := range u.Fields.Fields() {
			ct.Values[f] = c.Values[f]
		}
		if u.Active != nil {
			ct.Active = *u.Active
		}
		ct.LastModified = m.now()
		return true, nil
	})
}

// AssignBillingProduct records a billing product assignment
// (adsync.BillingProductAssigner). Assigning a product the contact already
// has is a no-op, so a retried assignment does not duplicate it.
func (m *Memory) AssignBillingProduct(ctx context.Context, contactID, productID int64) error {
	c := Call{Method: MethodAssignBillingProduct, ContactID: contactID, ProductID: productID}
	return m.call(ctx, &c, func() (bool, error) {
		ct, ok := m.contacts[contactID]
		if !ok {
			return false, fmt.Errorf("contacts: assign billing product %d: contact %d does not exist: %w",
				productID, contactID, adsync.ErrNotFound)
		}
		if productID <= 0 {
			return false, fmt.Errorf("contacts: assign billing product to contact %d: product id %d must be positive: %w",
				contactID, productID, adsync.ErrValidation)
		}
		c.CompanyID = ct.CompanyID
		m.assign(contactID, productID)
		return true, nil
	})
}

func (m *Memory) assign(contactID, productID int64) {
	if slices.Contains(m.products[contactID], productID) {
		return
	}
	m.products[contactID] = append(m.products[contactID], productID)
	m.assigned = append(m.assigned, Assignment{ContactID: contactID, ProductID: productID})
}
