package contacts

import (
	"context"
	"fmt"
	"slices"
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
