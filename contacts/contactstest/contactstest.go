// Package contactstest is the conformance suite for implementations of
// adsync.ContactStore, in the style of testing/fstest and
// testing/slogtest: an implementation's test calls Run with a harness, and
// each failure says which rule of the ContactStore contract was broken.
//
//	func TestConformance(t *testing.T) {
//		contactstest.Run(t, func(t *testing.T) contactstest.Harness {
//			return newMyHarness(t)
//		})
//	}
//
// The optional capabilities (adsync.CountryLister,
// adsync.BillingProductAssigner, adsync.ContactGetter) are found by type
// assertion on the store: their subtests run when the store implements
// them and are skipped, with the reason, otherwise.
//
// MemoryHarness runs the suite over a contacts.Memory, or over a decorator
// of one (a cache, a rate limiter) that must keep the contract.
//
// The suite writes about 1,200 contacts into companies it asks the harness
// to make, and never deletes any (a ContactStore cannot).
package contactstest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/internal/conform"
)

// Harness gives the suite a store and the companies to use.
type Harness interface {
	// Store returns the store under test.
	Store() adsync.ContactStore
	// NewCompany returns the id of a new, empty company in the store.
	NewCompany(ctx context.Context) (int64, error)
	// MissingCompany returns an id no company has.
	MissingCompany() int64
	// Seed creates a contact directly (bypassing Create), e.g. inactive ones.
	Seed(ctx context.Context, c adsync.Contact) (int64, error)
}

// BillingProductHarness is an optional extension of Harness for stores that
// implement adsync.BillingProductAssigner and can only assign billing
// products that exist (Autotask). Without it the suite assigns product 1.
type BillingProductHarness interface {
	Harness
	// BillingProduct returns the id of a billing product that can be
	// assigned to a contact.
	BillingProduct(ctx context.Context) (int64, error)
}

// PagingContacts is the number of contacts the paging test reads: enough for
// three pages of 500.
const PagingContacts = 1100

// Run runs the conformance suite. newHarness is called once per subtest;
// it may return a harness sharing one store, since every subtest works in
// companies it makes with NewCompany. Cleanup belongs in t.Cleanup.
func Run(t *testing.T, newHarness func(t *testing.T) Harness) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newSuite(t, newHarness(t)))
		})
	}
}

type testCase struct {
	name string
	run  func(t *testing.T, s *suite)
}

var cases = []testCase{
	{"CreateThenRead", testCreateThenRead},
	{"ValuesRoundTripAtMaxLength", testRoundTrip},
	{"R-FIELD-1 BlankValuesNotWritten", testBlankValues},
	{"Paging", testPaging},
	{"ActiveAndInactiveBothRead", testActiveInactive},
	{"R-SCOPE-6 OnlyTheCompanysContacts", testOnlyCompany},
	{"ReadMissingCompanyIsNotFound", testReadMissingCompany},
	{"UpdateWritesOnlyTheGivenFields", testUpdateOnlyFields},
	{"UpdateActiveOffAndOn", testUpdateActive},
	{"UpdateMissingContactIsNotFound", testUpdateMissing},
	{"UpdateInAnotherCompanyIsNotFound", testUpdateWrongCompany},
	{"R-FIELD-5 CreateWithBlankNameRefused", testCreateBlankName},
	{"R-FIELD-4 OverLongValueRefused", testOverLong},
	{"CreateInMissingCompanyFails", testCreateMissingCompany},
	{"CancelledContext", testCancelled},
	{"ConcurrentCreates", testConcurrentCreates},
	{"Check", testCheck},
	{"LastModifiedAdvancesOnUpdate", testLastModified},
	{"Countries", testCountries},
	{"AssignBillingProduct", testBillingProduct},
	{"GetContact", testGetContact},
}

// suite carries one subtest's harness, store and context.
type suite struct {
	t     *testing.T
	h     Harness
	store adsync.ContactStore
	ctx   context.Context
}

func newSuite(t *testing.T, h Harness) *suite {
	return &suite{t: t, h: h, store: h.Store(), ctx: t.Context()}
}

// broken reports a broken rule: what went wrong, then the contract.
func (s *suite) broken(rule, format string, args ...any) {
	s.t.Helper()
	conform.Broken(s.t, rule, format, args...)
}

// fatal is broken, and stops the subtest.
func (s *suite) fatal(rule, format string, args ...any) {
	s.t.Helper()
	conform.Fatal(s.t, rule, format, args...)
}

// must stops the subtest on an error of the harness or of a call the
// subtest depends on.
func (s *suite) must(err error, what string) {
	s.t.Helper()
	conform.Must(s.t, err, what)
}

func (s *suite) newCompany() int64 {
	s.t.Helper()
	id, err := s.h.NewCompany(s.ctx)
	s.must(err, "harness: NewCompany")
	return id
}

func (s *suite) seed(c adsync.Contact) int64 {
	s.t.Helper()
	id, err := s.h.Seed(s.ctx, c)
	s.must(err, "harness: Seed")
	return id
}

func (s *suite) create(company int64, v adsync.Values) int64 {
	s.t.Helper()
	id, err := s.store.Create(s.ctx, adsync.NewContact{CompanyID: company, Values: v})
	if err != nil {
		s.fatal(ruleCreate, "Create(%s %s) in company %d: %v", v[adsync.FirstName], v[adsync.LastName], company, err)
	}
	if id <= 0 {
		s.fatal(ruleCreate, "Create returned id %d; want a positive id", id)
	}
	return id
}

// readAll reads the company and returns the contacts and the page sizes.
func (s *suite) readAll(company int64) ([]adsync.Contact, []int, error) {
	var all []adsync.Contact
	var sizes []int
	err := s.store.Contacts(s.ctx, company, adsync.AllFieldSet, func(p []adsync.Contact) error {
		sizes = append(sizes, len(p))
		all = append(all, p...) // copies: the store may reuse p
		return nil
	})
	return all, sizes, err
}

// mustRead reads the company, failing the subtest on an error.
func (s *suite) mustRead(company int64) []adsync.Contact {
	s.t.Helper()
	all, _, err := s.readAll(company)
	if err != nil {
		s.fatal(ruleRead, "Contacts(company %d): %v", company, err)
	}
	return all
}

// get reads the company and returns the contact with the given id.
func (s *suite) get(company, id int64) adsync.Contact {
	s.t.Helper()
	for _, c := range s.mustRead(company) {
		if c.ID == id {
			return c
		}
	}
	s.fatal(ruleRead, "contact %d is missing from the read of company %d", id, company)
	return adsync.Contact{}
}

// The rules, quoted in failure messages. Each names the type or method
// whose doc comment states it (adsync.ContactStore and its optional
// capabilities); rules_test.go checks that it exists.
const (
	ruleCreate      = "ContactStore.Create: creates a contact under c.CompanyID, active, with the non-blank values of c.Values, and returns its (positive) id"
	ruleBlank       = "ContactStore.Create: writes only the non-blank values of c.Values (R-FIELD-1: a blank value is empty or whitespace only)"
	ruleRead        = "ContactStore.Contacts: reads every contact of the company, active and inactive, and returns nil only when the whole read completed"
	rulePages       = "ContactStore.Contacts: calls page with 1 to adsync.MaxPageSize (500) contacts at a time, in ascending id order across the read, each contact once"
	ruleScope       = "ContactStore.Contacts: reads the contacts of the given company and no other (R-SCOPE-6)"
	rulePageErr     = "ContactStore.Contacts: if page returns an error, Contacts stops at once and returns an error that errors.Is finds it in"
	ruleCancel      = "ContactStore: every method honours ctx: a cancelled context gives an error wrapping context.Canceled and writes nothing, and a read cut short never returns nil (R-DEACT-3)"
	ruleUpdate      = "ContactStore.Update: applies only the fields in u.Fields, and isActive only when u.Active is set; other fields are left as they are (R-FIELD-3)"
	ruleUpdateMiss  = "ContactStore.Update: returns an error wrapping adsync.ErrNotFound, changing nothing, when the contact does not exist in u.CompanyID"
	ruleMissingCo   = "ContactStore.Contacts: returns an error wrapping adsync.ErrNotFound, without calling page, if the company does not exist"
	ruleValidation  = "ContactStore.Create: refuses a blank first or last name (R-FIELD-5) and an over-long value (R-FIELD-4), as Update does the latter, with an error wrapping adsync.ErrValidation naming the field, and writes nothing"
	ruleRoundTrip   = "ContactStore: a value written is read back unchanged, up to the field's maximum length in runes (adsync.Field.MaxLen)"
	ruleConcurrent  = "ContactStore: methods may be called concurrently: concurrent creates all land, each with its own id"
	ruleCheck       = "ContactStore.Check: returns nil for an existing company and an error wrapping adsync.ErrNotFound for a missing one"
	ruleModified    = "ContactStore: Contact.LastModified is the time of the contact's last change, never zero: an update moves it forward"
	ruleCountries   = "CountryLister.Countries: returns Autotask's country list, not empty: unique positive ids, unique upper-case ISO 3166-1 alpha-2 codes, names"
	ruleBilling     = "BillingProductAssigner.AssignBillingProduct: assigns a billing product that exists to a contact the sync created (R-FIELD-7)"
	ruleGet         = "ContactGetter.GetContact: returns the contact with the id, whatever its company, and an error wrapping adsync.ErrNotFound if it does not exist"
	ruleCreateNoCo  = "ContactStore.Create: under a company that does not exist it fails and creates nothing"
	ruleReadAllPage = "ContactStore.Contacts: reads every contact of the company: the contacts created are all read back"
)

// person returns values with a first, last name and email.
func person(first, last, email string) adsync.Values {
	var v adsync.Values
	v[adsync.FirstName], v[adsync.LastName], v[adsync.Email] = first, last, email
	return v
}

// uniq makes values unique per call, so that a subtest's contacts never
// match another's.
var (
	uniqMu sync.Mutex
	uniqN  int
)

func uniq(prefix string) string {
	uniqMu.Lock()
	defer uniqMu.Unlock()
	uniqN++
	return fmt.Sprintf("%s%d", prefix, uniqN)
}

func diffValues(want, got adsync.Values, fs adsync.FieldSet) []string {
	var d []string
	for _, f := range fs.Fields() {
		if want[f] != got[f] {
			d = append(d, fmt.Sprintf("%s: got %q, want %q", f, got[f], want[f]))
		}
	}
	return d
}

func testCreateThenRead(t *testing.T, s *suite) {
	co := s.newCompany()
	v := person("Ann", uniq("Lee"), "ann.lee@example.com")
	v[adsync.Title] = "Engineer"
	id := s.create(co, v)
	all := s.mustRead(co)
	if len(all) != 1 {
		s.fatal(ruleCreate, "after one Create in a new company, Contacts read %d contacts; want 1", len(all))
	}
	c := all[0]
	if c.ID != id {
		s.broken(ruleCreate, "Create returned id %d but the contact read back has id %d", id, c.ID)
	}
	if c.CompanyID != co {
		s.broken(ruleCreate, "the contact read back has CompanyID %d; want %d", c.CompanyID, co)
	}
	if !c.Active {
		s.broken(ruleCreate, "a created contact was read back inactive")
	}
	if d := diffValues(v, c.Values, adsync.NewFieldSet(adsync.FirstName, adsync.LastName, adsync.Email, adsync.Title)); d != nil {
		s.broken(ruleRoundTrip, "values read back differ: %s", strings.Join(d, "; "))
	}
}

// fill returns a value of exactly n runes, repeating pattern.
func fill(pattern string, n int) string {
	r := []rune(strings.Repeat(pattern, n/len([]rune(pattern))+1))
	return string(r[:n])
}

// maxEmail returns a well-formed address of exactly n characters (n ≥ 20):
// a 64-character local part and a domain of labels of at most 63.
func maxEmail(n int) string {
	local := fill("a", min(64, n-12))
	rest := n - len(local) - 1 - len(".example") // characters left for labels and dots
	var labels []string
	for rest > 0 {
		l := min(63, rest)
		if rest-l == 1 { // a dot needs a label after it
			l--
		}
		labels = append(labels, fill("b", l))
		rest -= l + 1
	}
	return local + "@" + strings.Join(labels, ".") + ".example"
}

// maxValues returns a value of each text field at its maximum length, with
// non-ASCII letters in the names so that runes, not bytes, are counted.
func maxValues() adsync.Values {
	var v adsync.Values
	for _, f := range adsync.AllFields() {
		n := f.MaxLen()
		switch f {
		case adsync.CountryID:
		case adsync.Email:
			v[f] = maxEmail(n)
		case adsync.Phone, adsync.MobilePhone, adsync.Fax, adsync.AlternatePhone:
			v[f] = fill("+1-555-0100-", n-1) + "9"
		case adsync.ZipCode:
			v[f] = fill("D-10115", n)
		case adsync.FirstName, adsync.LastName, adsync.MiddleInitial:
			v[f] = fill("Zoë-Ångström-", n-1) + "x"
		default:
			v[f] = fill("Straße 12 ", n-1) + "x"
		}
	}
	return v
}

func testRoundTrip(t *testing.T, s *suite) {
	co := s.newCompany()
	v := maxValues()
	fs := adsync.AllFieldSet
	if cl, ok := s.store.(adsync.CountryLister); ok {
		cs, err := cl.Countries(s.ctx)
		if err != nil || len(cs) == 0 {
			s.fatal(ruleCountries, "Countries: %d countries, error %v", len(cs), err)
		}
		v[adsync.CountryID] = fmt.Sprint(cs[len(cs)/2].ID)
	} else {
		t.Log("the store is not an adsync.CountryLister: countryID is not round-tripped")
		fs &^= adsync.NewFieldSet(adsync.CountryID)
	}
	id := s.create(co, v)
	c := s.get(co, id)
	if d := diffValues(v, c.Values, fs); d != nil {
		s.broken(ruleRoundTrip, "values at maximum length read back differ:\n\t%s", strings.Join(d, "\n\t"))
	}
}

func testBlankValues(t *testing.T, s *suite) {
	co := s.newCompany()
	v := person("Bo", uniq("Blank"), "")
	v[adsync.Title] = "   "
	v[adsync.City] = "\t"
	id := s.create(co, v)
	c := s.get(co, id)
	for _, f := range []adsync.Field{adsync.Email, adsync.Title, adsync.City, adsync.Phone} {
		if c.Values[f] != "" {
			s.broken(ruleBlank, "%s was created with blank %q and read back as %q; want \"\"", f, v[f], c.Values[f])
		}
	}
}

func testPaging(t *testing.T, s *suite) {
	co := s.newCompany()
	ids := make(map[int64]bool, PagingContacts)
	for i := range PagingContacts {
		id := s.seed(adsync.Contact{CompanyID: co, Active: i%7 != 0, Values: person("Page", fmt.Sprintf("Contact%04d", i), "")})
		ids[id] = true
	}
	if len(ids) != PagingContacts {
		t.Fatalf("harness: Seed returned %d distinct ids for %d contacts", len(ids), PagingContacts)
	}

	t.Run("PagesOf1To500InAscendingIDOrder", func(t *testing.T) {
		s := &suite{t: t, h: s.h, store: s.store, ctx: s.ctx}
		all, sizes, err := s.readAll(co)
		if err != nil {
			s.fatal(ruleRead, "Contacts: %v", err)
		}
		for i, n := range sizes {
			if n < 1 || n > adsync.MaxPageSize {
				s.broken(rulePages, "page %d has %d contacts", i+1, n)
			}
		}
		if len(sizes) < (PagingContacts+adsync.MaxPageSize-1)/adsync.MaxPageSize {
			s.broken(rulePages, "%d contacts came in %d pages: a page is larger than 500", PagingContacts, len(sizes))
		}
		seen := make(map[int64]bool, len(all))
		for i, c := range all {
			if i > 0 && c.ID <= all[i-1].ID {
				s.fatal(rulePages, "contact %d (position %d) follows contact %d: ids must ascend across the whole read", c.ID, i, all[i-1].ID)
			}
			seen[c.ID] = true
		}
		for id := range ids {
			if !seen[id] {
				s.fatal(ruleReadAllPage, "contact %d was seeded but not read (read %d of %d)", id, len(all), PagingContacts)
			}
		}
		if len(all) != PagingContacts {
			s.broken(ruleScope, "read %d contacts from a company of %d", len(all), PagingContacts)
		}
	})

	t.Run("PageErrorStopsTheRead", func(t *testing.T) {
		s := &suite{t: t, h: s.h, store: s.store, ctx: s.ctx}
		stop := errors.New("contactstest: stop")
		calls := 0
		err := s.store.Contacts(s.ctx, co, adsync.AllFieldSet, func([]adsync.Contact) error {
			calls++
			return stop
		})
		if !errors.Is(err, stop) {
			s.broken(rulePageErr, "page returned an error and Contacts returned %v", err)
		}
		if calls != 1 {
			s.broken(rulePageErr, "page returned an error on the first page and was called %d times", calls)
		}
	})

	t.Run("CancelBetweenPagesStopsTheRead", func(t *testing.T) {
		s := &suite{t: t, h: s.h, store: s.store, ctx: s.ctx}
		ctx, cancel := context.WithCancel(s.ctx)
		defer cancel()
		calls := 0
		err := s.store.Contacts(ctx, co, adsync.AllFieldSet, func([]adsync.Contact) error {
			calls++
			cancel()
			return nil
		})
		if err == nil {
			s.broken(ruleCancel, "the context was cancelled during the first of several pages and Contacts returned nil")
		} else if !errors.Is(err, context.Canceled) {
			s.broken(ruleCancel, "the context was cancelled during a read and Contacts returned %v", err)
		}
		if calls != 1 {
			s.broken(ruleCancel, "the context was cancelled during the first page and page was called %d times", calls)
		}
	})
}

func testActiveInactive(t *testing.T, s *suite) {
	co := s.newCompany()
	on := s.seed(adsync.Contact{CompanyID: co, Active: true, Values: person("On", uniq("Active"), "")})
	off := s.seed(adsync.Contact{CompanyID: co, Active: false, Values: person("Off", uniq("Inactive"), "")})
	got := map[int64]bool{}
	for _, c := range s.mustRead(co) {
		got[c.ID] = c.Active
	}
	for id, want := range map[int64]bool{on: true, off: false} {
		active, ok := got[id]
		switch {
		case !ok:
			s.broken(ruleRead, "contact %d (active=%v) was not read", id, want)
		case active != want:
			s.broken(ruleRead, "contact %d was read with Active=%v; it is %v", id, active, want)
		}
	}
}

func testOnlyCompany(t *testing.T, s *suite) {
	a, b := s.newCompany(), s.newCompany()
	ida := s.create(a, person("In", uniq("A"), ""))
	idb := s.create(b, person("In", uniq("B"), ""))
	for _, tc := range []struct {
		co, want, other int64
	}{{a, ida, idb}, {b, idb, ida}} {
		all := s.mustRead(tc.co)
		if len(all) != 1 || all[0].ID != tc.want {
			ids := make([]int64, len(all))
			for i, c := range all {
				ids[i] = c.ID
			}
			s.broken(ruleScope, "company %d has only contact %d (contact %d is in another company); read %v", tc.co, tc.want, tc.other, ids)
			continue
		}
		if all[0].CompanyID != tc.co {
			s.broken(ruleScope, "contact %d of company %d was read with CompanyID %d", tc.want, tc.co, all[0].CompanyID)
		}
	}
}

func testReadMissingCompany(t *testing.T, s *suite) {
	calls := 0
	err := s.store.Contacts(s.ctx, s.h.MissingCompany(), adsync.AllFieldSet, func([]adsync.Contact) error {
		calls++
		return nil
	})
	if !errors.Is(err, adsync.ErrNotFound) {
		s.broken(ruleMissingCo, "Contacts(missing company %d) returned %v", s.h.MissingCompany(), err)
	}
	if calls != 0 {
		s.broken(ruleMissingCo, "page was called %d times for a company that does not exist", calls)
	}
}

func testUpdateOnlyFields(t *testing.T, s *suite) {
	co := s.newCompany()
	v := person("Ula", uniq("Update"), "ula@example.com")
	v[adsync.Title] = "Before"
	v[adsync.City] = "Berlin"
	v[adsync.Phone] = "+49 30 1234"
	id := s.create(co, v)

	u := adsync.ContactUpdate{ContactID: id, CompanyID: co, Fields: adsync.NewFieldSet(adsync.Title, adsync.Phone)}
	u.Values[adsync.Title] = "After"
	u.Values[adsync.Phone] = "+49 30 5678"
	u.Values[adsync.City] = "Not written" // not in u.Fields
	u.Values[adsync.Email] = ""           // not in u.Fields: must not blank the email
	if err := s.store.Update(s.ctx, u); err != nil {
		s.fatal(ruleUpdate, "Update(title, phone): %v", err)
	}
	want := v
	want[adsync.Title], want[adsync.Phone] = "After", "+49 30 5678"
	c := s.get(co, id)
	if d := diffValues(want, c.Values, adsync.AllFieldSet); d != nil {
		s.broken(ruleUpdate, "after an update of title and phone only: %s", strings.Join(d, "; "))
	}
	if !c.Active {
		s.broken(ruleUpdate, "an update without Active made the contact inactive")
	}
}

func testUpdateActive(t *testing.T, s *suite) {
	co := s.newCompany()
	v := person("Ivo", uniq("Active"), "ivo@example.com")
	id := s.create(co, v)
	for _, active := range []bool{false, true} {
		if err := s.store.Update(s.ctx, adsync.ContactUpdate{ContactID: id, CompanyID: co, Active: &active}); err != nil {
			s.fatal(ruleUpdate, "Update(Active=%v): %v", active, err)
		}
		c := s.get(co, id)
		if c.Active != active {
			s.broken(ruleUpdate, "after Update(Active=%v) the contact reads Active=%v", active, c.Active)
		}
		if d := diffValues(v, c.Values, adsync.AllFieldSet); d != nil {
			s.broken(ruleUpdate, "an update of isActive only changed values: %s", strings.Join(d, "; "))
		}
	}
}

func testUpdateMissing(t *testing.T, s *suite) {
	co := s.newCompany()
	id := s.create(co, person("Mo", uniq("Missing"), ""))
	missing := id + 1_000_000
	u := adsync.ContactUpdate{ContactID: missing, CompanyID: co, Fields: adsync.NewFieldSet(adsync.Title)}
	u.Values[adsync.Title] = "Ghost"
	if err := s.store.Update(s.ctx, u); !errors.Is(err, adsync.ErrNotFound) {
		s.broken(ruleUpdateMiss, "Update of contact %d, which does not exist, returned %v", missing, err)
	}
}

func testUpdateWrongCompany(t *testing.T, s *suite) {
	a, b := s.newCompany(), s.newCompany()
	v := person("Wes", uniq("Wrong"), "")
	id := s.create(a, v)
	u := adsync.ContactUpdate{ContactID: id, CompanyID: b, Fields: adsync.NewFieldSet(adsync.Title)}
	u.Values[adsync.Title] = "Hijacked"
	if err := s.store.Update(s.ctx, u); !errors.Is(err, adsync.ErrNotFound) {
		s.broken(ruleUpdateMiss, "Update of contact %d (company %d) given company %d returned %v", id, a, b, err)
	}
	if c := s.get(a, id); c.Values[adsync.Title] != "" {
		s.broken(ruleUpdateMiss, "an update given the wrong company changed the contact: title %q", c.Values[adsync.Title])
	}
}

// wantRefused checks a refused write: ErrValidation, the field named.
func (s *suite) wantRefused(err error, f adsync.Field, what string) {
	s.t.Helper()
	switch {
	case !errors.Is(err, adsync.ErrValidation):
		s.broken(ruleValidation, "%s returned %v", what, err)
	case !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(f.String())):
		s.broken(ruleValidation, "%s returned %q, which does not name the field %s", what, err, f)
	}
}

func testCreateBlankName(t *testing.T, s *suite) {
	co := s.newCompany()
	for _, tc := range []struct {
		name  string
		field adsync.Field
		v     adsync.Values
	}{
		{"blank first name", adsync.FirstName, person("", "Smith", "a@example.com")},
		{"whitespace first name", adsync.FirstName, person("  ", "Smith", "b@example.com")},
		{"blank last name", adsync.LastName, person("Sam", "", "c@example.com")},
	} {
		_, err := s.store.Create(s.ctx, adsync.NewContact{CompanyID: co, Values: tc.v})
		s.wantRefused(err, tc.field, "Create with a "+tc.name)
	}
	if n := len(s.mustRead(co)); n != 0 {
		s.broken(ruleValidation, "refused creates left %d contacts in the company", n)
	}
}

func testOverLong(t *testing.T, s *suite) {
	co := s.newCompany()
	for _, f := range []adsync.Field{adsync.Title, adsync.City, adsync.ZipCode} {
		v := person("Lou", uniq("Long"), "")
		v[f] = fill("x", f.MaxLen()+1)
		_, err := s.store.Create(s.ctx, adsync.NewContact{CompanyID: co, Values: v})
		s.wantRefused(err, f, fmt.Sprintf("Create with a %s of %d characters (max %d)", f, f.MaxLen()+1, f.MaxLen()))
	}
	if n := len(s.mustRead(co)); n != 0 {
		s.broken(ruleValidation, "refused creates left %d contacts in the company", n)
	}
	id := s.create(co, person("Lou", uniq("Long"), ""))
	u := adsync.ContactUpdate{ContactID: id, CompanyID: co, Fields: adsync.NewFieldSet(adsync.Title)}
	u.Values[adsync.Title] = fill("y", adsync.Title.MaxLen()+1)
	s.wantRefused(s.store.Update(s.ctx, u), adsync.Title, "Update with an over-long title")
	if c := s.get(co, id); c.Values[adsync.Title] != "" {
		s.broken(ruleValidation, "a refused update wrote title %q", c.Values[adsync.Title])
	}
}

func testCreateMissingCompany(t *testing.T, s *suite) {
	missing := s.h.MissingCompany()
	id, err := s.store.Create(s.ctx, adsync.NewContact{CompanyID: missing, Values: person("No", uniq("Company"), "")})
	if err == nil {
		s.broken(ruleCreateNoCo, "Create under missing company %d returned id %d and no error", missing, id)
	}
}

func testCancelled(t *testing.T, s *suite) {
	co := s.newCompany()
	id := s.create(co, person("Cal", uniq("Cancel"), ""))
	ctx, cancel := context.WithCancel(s.ctx)
	cancel()
	check := func(method string, err error) {
		t.Helper()
		if !errors.Is(err, context.Canceled) {
			s.broken(ruleCancel, "%s with a cancelled context returned %v", method, err)
		}
	}
	_, err := s.store.Create(ctx, adsync.NewContact{CompanyID: co, Values: person("Cal", uniq("Cancelled"), "")})
	check("Create", err)
	off := false
	check("Update", s.store.Update(ctx, adsync.ContactUpdate{ContactID: id, CompanyID: co, Active: &off}))
	check("Contacts", s.store.Contacts(ctx, co, adsync.AllFieldSet, func([]adsync.Contact) error { return nil }))
	check("Check", s.store.Check(ctx, co))
	all := s.mustRead(co)
	if len(all) != 1 {
		s.broken(ruleCancel, "a Create with a cancelled context created a contact: %d contacts, want 1", len(all))
	} else if !all[0].Active {
		s.broken(ruleCancel, "an Update with a cancelled context was applied")
	}
}

func testConcurrentCreates(t *testing.T, s *suite) {
	const workers, each = 3, 3
	co := s.newCompany()
	var (
		mu   sync.Mutex
		ids  []int64
		errs []error
		wg   sync.WaitGroup
	)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				id, err := s.store.Create(s.ctx, adsync.NewContact{CompanyID: co, Values: person("Con", fmt.Sprintf("Current%d-%d", w, i), "")})
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					ids = append(ids, id)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		s.fatal(ruleConcurrent, "%d of %d concurrent creates failed: %v", len(errs), workers*each, errors.Join(errs...))
	}
	slices.Sort(ids)
	if len(slices.Compact(slices.Clone(ids))) != len(ids) {
		s.broken(ruleConcurrent, "concurrent creates returned duplicate ids: %v", ids)
	}
	var read []int64
	for _, c := range s.mustRead(co) {
		read = append(read, c.ID)
	}
	if !slices.Equal(read, ids) {
		s.broken(ruleConcurrent, "concurrent creates returned ids %v; the company holds %v", ids, read)
	}
}

func testCheck(t *testing.T, s *suite) {
	co := s.newCompany()
	if err := s.store.Check(s.ctx, co); err != nil {
		s.broken(ruleCheck, "Check(existing company %d): %v", co, err)
	}
	if err := s.store.Check(s.ctx, s.h.MissingCompany()); !errors.Is(err, adsync.ErrNotFound) {
		s.broken(ruleCheck, "Check(missing company %d) returned %v", s.h.MissingCompany(), err)
	}
}

// touchUntil updates the contact's title until its LastModified is at or
// after since, and returns it. Stores stamp LastModified with their own
// clock, which may be coarse (Autotask keeps milliseconds) or ahead of or
// behind ours, so the suite asks again for a while rather than sleep a
// guessed time once.
func (s *suite) touchUntil(co, id int64, since time.Time) adsync.Contact {
	s.t.Helper()
	const patience = 2 * time.Second
	deadline := time.Now().Add(patience)
	wait := time.Millisecond
	for i := 0; ; i++ {
		u := adsync.ContactUpdate{ContactID: id, CompanyID: co, Fields: adsync.NewFieldSet(adsync.Title)}
		u.Values[adsync.Title] = fmt.Sprintf("Touch %d", i)
		if err := s.store.Update(s.ctx, u); err != nil {
			s.fatal(ruleUpdate, "Update(title): %v", err)
		}
		c := s.get(co, id)
		if !c.LastModified.Before(since) {
			return c
		}
		if time.Now().After(deadline) {
			s.fatal(ruleModified, "after %d updates of contact %d over %v, its LastModified is still %s, before %s",
				i+1, id, patience, c.LastModified.Format(time.RFC3339Nano), since.Format(time.RFC3339Nano))
		}
		time.Sleep(wait)
		wait = min(2*wait, 200*time.Millisecond)
	}
}

func testLastModified(t *testing.T, s *suite) {
	co := s.newCompany()
	id := s.create(co, person("Tim", uniq("Stamp"), ""))
	before := s.get(co, id)
	if before.LastModified.IsZero() {
		s.fatal(ruleModified, "a created contact was read with a zero LastModified")
	}
	after := s.touchUntil(co, id, before.LastModified.Add(time.Nanosecond))
	if !after.LastModified.After(before.LastModified) {
		s.broken(ruleModified, "LastModified went from %v to %v", before.LastModified, after.LastModified)
	}
}

func testCountries(t *testing.T, s *suite) {
	cl, ok := s.store.(adsync.CountryLister)
	if !ok {
		t.Skip("the store is not an adsync.CountryLister")
	}
	cs, err := cl.Countries(s.ctx)
	if err != nil {
		s.fatal(ruleCountries, "Countries: %v", err)
	}
	if len(cs) == 0 {
		s.fatal(ruleCountries, "Countries returned an empty list")
	}
	ids, codes := map[int64]bool{}, map[string]bool{}
	for _, c := range cs {
		if c.ID <= 0 || ids[c.ID] {
			s.broken(ruleCountries, "country %+v: id not positive or repeated", c)
		}
		if len(c.Code) != 2 || strings.ToUpper(c.Code) != c.Code || c.Code[0] < 'A' || c.Code[0] > 'Z' || c.Code[1] < 'A' || c.Code[1] > 'Z' || codes[c.Code] {
			s.broken(ruleCountries, "country %+v: code not two upper-case letters, or repeated", c)
		}
		if strings.TrimSpace(c.Name) == "" {
			s.broken(ruleCountries, "country %+v has no name", c)
		}
		ids[c.ID], codes[c.Code] = true, true
	}
}

func testBillingProduct(t *testing.T, s *suite) {
	ba, ok := s.store.(adsync.BillingProductAssigner)
	if !ok {
		t.Skip("the store is not an adsync.BillingProductAssigner")
	}
	product := int64(1)
	if bh, ok := s.h.(BillingProductHarness); ok {
		var err error
		product, err = bh.BillingProduct(s.ctx)
		s.must(err, "harness: BillingProduct")
	}
	co := s.newCompany()
	id := s.create(co, person("Bill", uniq("Product"), ""))
	if err := ba.AssignBillingProduct(s.ctx, id, product); err != nil {
		s.broken(ruleBilling, "AssignBillingProduct(contact %d, product %d): %v", id, product, err)
	}
}

func testGetContact(t *testing.T, s *suite) {
	g, ok := s.store.(adsync.ContactGetter)
	if !ok {
		t.Skip("the store is not an adsync.ContactGetter")
	}
	co := s.newCompany()
	v := person("Gil", uniq("Get"), "gil@example.com")
	id := s.create(co, v)
	off := false
	if err := s.store.Update(s.ctx, adsync.ContactUpdate{ContactID: id, CompanyID: co, Active: &off}); err != nil {
		s.fatal(ruleUpdate, "Update(Active=false): %v", err)
	}
	c, err := g.GetContact(s.ctx, id)
	if err != nil {
		s.fatal(ruleGet, "GetContact(%d): %v", id, err)
	}
	if c.ID != id || c.CompanyID != co || c.Active {
		s.broken(ruleGet, "GetContact(%d) returned id %d, company %d, active %v; want id %d, company %d, inactive", id, c.ID, c.CompanyID, c.Active, id, co)
	}
	if d := diffValues(v, c.Values, adsync.NewFieldSet(adsync.FirstName, adsync.LastName, adsync.Email)); d != nil {
		s.broken(ruleGet, "GetContact(%d) returned other values: %s", id, strings.Join(d, "; "))
	}
	if _, err := g.GetContact(s.ctx, id+1_000_000); !errors.Is(err, adsync.ErrNotFound) {
		s.broken(ruleGet, "GetContact of a contact that does not exist returned %v", err)
	}
}
