package contacts_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/contacts"
	"github.com/psasync/adsync/contacts/contactstest"
)

const acme = 100

// stepClock returns a clock that advances one second per reading, so that
// every LastModified stamp is distinct and predictable.
func stepClock() func() time.Time {
	var mu sync.Mutex
	t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(time.Second)
		return t
	}
}

func newStore(t *testing.T, o *contacts.MemoryOptions) *contacts.Memory {
	t.Helper()
	if o == nil {
		o = &contacts.MemoryOptions{}
	}
	if o.Now == nil {
		o.Now = stepClock()
	}
	m := contacts.NewMemory(o)
	m.AddCompany(acme, "Acme")
	return m
}

func person(first, last, email string) adsync.Values {
	var v adsync.Values
	v[adsync.FirstName], v[adsync.LastName], v[adsync.Email] = first, last, email
	return v
}

func readAll(t *testing.T, m *contacts.Memory, company int64) ([]adsync.Contact, []int, error) {
	t.Helper()
	var all []adsync.Contact
	var sizes []int
	err := m.Contacts(context.Background(), company, adsync.AllFieldSet, func(p []adsync.Contact) error {
		sizes = append(sizes, len(p))
		all = append(all, p...)
		return nil
	})
	return all, sizes, err
}

func TestMemoryIDs(t *testing.T) {
	ctx := context.Background()
	m := newStore(t, &contacts.MemoryOptions{FirstID: 30000})
	a, err := m.Create(ctx, adsync.NewContact{CompanyID: acme, Values: person("Ann", "Lee", "ann@acme.test")})
	require.NoError(t, err)
	b := m.Seed(adsync.Contact{CompanyID: acme, Values: person("Bob", "Ray", "")})
	c := m.Seed(adsync.Contact{ID: 29000, CompanyID: acme, Values: person("Cy", "Old", "")})
	d, err := m.Create(ctx, adsync.NewContact{CompanyID: acme, Values: person("Di", "Ng", "")})
	require.NoError(t, err)
	assert.Equal(t, []int64{30000, 30001, 29000, 30002}, []int64{a, b, c, d}, "ids ascend from FirstID; an explicit seed id does not move the counter back")

	all := m.All(acme)
	require.Len(t, all, 4)
	assert.Equal(t, []int64{29000, 30000, 30001, 30002}, []int64{all[0].ID, all[1].ID, all[2].ID, all[3].ID}, "All is sorted by id")
	assert.Panics(t, func() { m.Seed(adsync.Contact{ID: a, CompanyID: acme}) }, "a taken id")
	assert.Panics(t, func() { m.Seed(adsync.Contact{CompanyID: 9}) }, "an unknown company")
	assert.Nil(t, m.All(9))
}

func TestMemoryPageSize(t *testing.T) {
	m := newStore(t, &contacts.MemoryOptions{PageSize: 3})
	for range 7 {
		m.Seed(adsync.Contact{CompanyID: acme, Values: person("A", "B", "")})
	}
	before := m.Counts()
	all, sizes, err := readAll(t, m, acme)
	require.NoError(t, err)
	assert.Len(t, all, 7)
	assert.Equal(t, []int{3, 3, 1}, sizes)
	assert.Equal(t, int64(3), m.Counts().Reads-before.Reads, "R-RUN-4 a read counts one call per page")

	// A full last page costs one more (empty) call, as with Autotask's paging.
	m.Seed(adsync.Contact{CompanyID: acme, Values: person("A", "B", "")})
	m.Seed(adsync.Contact{CompanyID: acme, Values: person("A", "B", "")})
	before = m.Counts()
	_, sizes, err = readAll(t, m, acme)
	require.NoError(t, err)
	assert.Equal(t, []int{3, 3, 3}, sizes)
	assert.Equal(t, int64(3), m.Counts().Reads-before.Reads, "the store knows no more follow a full page only when none are left")

	m2 := contacts.NewMemory(&contacts.MemoryOptions{PageSize: 9999})
	m2.AddCompany(1, "x")
	for range 501 {
		m2.Seed(adsync.Contact{CompanyID: 1})
	}
	var sizes2 []int
	require.NoError(t, m2.Contacts(context.Background(), 1, 0, func(p []adsync.Contact) error { sizes2 = append(sizes2, len(p)); return nil }))
	assert.Equal(t, []int{500, 1}, sizes2, "page size is capped at adsync.MaxPageSize")
}

func TestMemoryFailCall(t *testing.T) {
	ctx := context.Background()
	m := newStore(t, nil)
	boom := errors.New("boom")

	m.FailCall(m.APICalls()+1, nil)
	_, err := m.Create(ctx, adsync.NewContact{CompanyID: acme, Values: person("Ann", "Lee", "")})
	require.ErrorIs(t, err, adsync.ErrUnavailable, "R-RUN-6 a nil error injects a server failure")
	assert.Empty(t, m.All(acme), "a failed call is not applied")

	m.FailCall(m.APICalls()+2, boom)
	id, err := m.Create(ctx, adsync.NewContact{CompanyID: acme, Values: person("Ann", "Lee", "")})
	require.NoError(t, err, "the fault is for the call after this one")
	err = m.Update(ctx, adsync.ContactUpdate{ContactID: id, CompanyID: acme, Fields: adsync.NewFieldSet(adsync.Title), Values: adsync.Values{adsync.Title: "CEO"}})
	require.ErrorIs(t, err, boom)
	c, _ := m.Contact(id)
	assert.Empty(t, c.Values[adsync.Title], "a failed update is not applied")

	require.NoError(t, m.Update(ctx, adsync.ContactUpdate{ContactID: id, CompanyID: acme, Fields: adsync.NewFieldSet(adsync.Title), Values: adsync.Values{adsync.Title: "CEO"}}), "a fault fires once")

	calls := m.Calls()
	require.Len(t, calls, 4)
	for i, c := range calls {
		assert.Equal(t, int64(i+1), c.N)
	}
	assert.Equal(t, []bool{false, true, false, true}, []bool{calls[0].Applied, calls[1].Applied, calls[2].Applied, calls[3].Applied})
	assert.Equal(t, id, calls[1].ContactID, "the log has a create's assigned id")
	assert.ErrorIs(t, calls[2].Err, boom)
	assert.Equal(t, contacts.Counts{Calls: 4, Creates: 2, Updates: 2}, m.Counts())
	assert.Equal(t, int64(4), m.Counts().Writes())
}

func TestMemoryFailReadPage(t *testing.T) {
	m := newStore(t, &contacts.MemoryOptions{PageSize: 2})
	for range 5 {
		m.Seed(adsync.Contact{CompanyID: acme})
	}
	m.FailCall(m.APICalls()+2, nil)
	all, sizes, err := readAll(t, m, acme)
	require.ErrorIs(t, err, adsync.ErrUnavailable, "a read cut short returns an error")
	assert.Equal(t, []int{2}, sizes, "the pages before the failing one are delivered")
	assert.Len(t, all, 2)
}

func TestMemoryLoseResponse(t *testing.T) {
	ctx := context.Background()
	m := newStore(t, nil)

	m.LoseResponse(m.APICalls() + 1)
	id, err := m.Create(ctx, adsync.NewContact{CompanyID: acme, Values: person("Ann", "Lee", "ann@acme.test")})
	require.ErrorIs(t, err, adsync.ErrUnavailable, "R-RUN-7 the caller sees a failure")
	assert.Zero(t, id)
	all := m.All(acme)
	require.Len(t, all, 1, "R-RUN-7 the contact was created all the same")
	assert.Equal(t, "ann@acme.test", all[0].Values[adsync.Email])
	calls := m.Calls()
	require.Len(t, calls, 1)
	assert.True(t, calls[0].Applied)
	assert.Equal(t, all[0].ID, calls[0].ContactID)

	m.LoseWhere(func(c contacts.Call) bool { return c.Method == contacts.MethodUpdate })
	off := false
	err = m.Update(ctx, adsync.ContactUpdate{ContactID: all[0].ID, CompanyID: acme, Active: &off})
	require.ErrorIs(t, err, adsync.ErrUnavailable)
	c, _ := m.Contact(all[0].ID)
	assert.False(t, c.Active, "a lost update is applied")

	m.ClearFaults()
	on := true
	require.NoError(t, m.Update(ctx, adsync.ContactUpdate{ContactID: all[0].ID, CompanyID: acme, Active: &on}))
}

func TestMemoryFailWhere(t *testing.T) {
	ctx := context.Background()
	m := newStore(t, nil)
	refused := errors.New("refused by rule")
	// R-RUN-6: one contact's writes fail, the others go through.
	m.FailWhere(func(c contacts.Call) error {
		if c.Method == contacts.MethodCreate && c.Values[adsync.Email] == "bad@acme.test" {
			return refused
		}
		return nil
	})
	_, err := m.Create(ctx, adsync.NewContact{CompanyID: acme, Values: person("Bad", "One", "bad@acme.test")})
	require.ErrorIs(t, err, refused)
	_, err = m.Create(ctx, adsync.NewContact{CompanyID: acme, Values: person("Good", "One", "good@acme.test")})
	require.NoError(t, err)
	assert.Len(t, m.All(acme), 1)

	m.ClearFaults()
	_, err = m.Create(ctx, adsync.NewContact{CompanyID: acme, Values: person("Bad", "One", "bad@acme.test")})
	require.NoError(t, err, "ClearFaults removes the rules")
}

func TestMemoryValidation(t *testing.T) {
	ctx := context.Background()
	m := newStore(t, nil)
	long := func(n int) string { return string(make([]rune, n)) }
	tests := []struct {
		name string
		vals adsync.Values
		want error
	}{
		{"R-FIELD-5 whitespace first name", person(" ", "Lee", ""), adsync.ErrValidation},
		{"R-FIELD-4 over-long city", func() adsync.Values { v := person("A", "B", ""); v[adsync.City] = long(33); return v }(), adsync.ErrValidation},
		{"R-FIELD-6 unknown country id", func() adsync.Values { v := person("A", "B", ""); v[adsync.CountryID] = "999999"; return v }(), adsync.ErrValidation},
		{"R-FIELD-6 country code instead of id", func() adsync.Values { v := person("A", "B", ""); v[adsync.CountryID] = "DE"; return v }(), adsync.ErrValidation},
		{"R-FIELD-6 known country id", func() adsync.Values { v := person("A", "B", ""); v[adsync.CountryID] = "82"; return v }(), nil},
		{"R-FIELD-4 city at max length in runes", func() adsync.Values { v := person("A", "B", ""); v[adsync.City] = "ü" + long(31); return v }(), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := m.Create(ctx, adsync.NewContact{CompanyID: acme, Values: tt.vals})
			if tt.want == nil {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, tt.want)
			}
		})
	}
	id := m.Seed(adsync.Contact{CompanyID: acme, Values: person("A", "B", "")})
	err := m.Update(ctx, adsync.ContactUpdate{ContactID: id, CompanyID: acme, Fields: adsync.NewFieldSet(adsync.LastName)})
	require.ErrorIs(t, err, adsync.ErrValidation, "R-FIELD-5 a required field cannot be blanked")
}

func TestMemoryBillingProduct(t *testing.T) {
	ctx := context.Background()
	m := newStore(t, nil)
	id, err := m.Create(ctx, adsync.NewContact{CompanyID: acme, Values: person("A", "B", "")})
	require.NoError(t, err)
	assert.Empty(t, m.BillingProducts(id), "R-FIELD-7 a created contact has no product until one is assigned")
	require.NoError(t, m.AssignBillingProduct(ctx, id, 7))
	require.NoError(t, m.AssignBillingProduct(ctx, id, 7))
	require.NoError(t, m.AssignBillingProduct(ctx, id, 8))
	assert.Equal(t, []int64{7, 8}, m.BillingProducts(id), "assigning a product twice records it once")
	assert.Equal(t, []contacts.Assignment{{ContactID: id, ProductID: 7}, {ContactID: id, ProductID: 8}}, m.Assignments())
	require.ErrorIs(t, m.AssignBillingProduct(ctx, 12345, 7), adsync.ErrNotFound)
	require.ErrorIs(t, m.AssignBillingProduct(ctx, id, 0), adsync.ErrValidation)
}

func TestMemoryNoCallLog(t *testing.T) {
	m := newStore(t, &contacts.MemoryOptions{NoCallLog: true})
	require.NoError(t, m.Check(context.Background(), acme))
	assert.Nil(t, m.Calls())
	assert.Equal(t, int64(1), m.APICalls())
}

func TestMemoryCancelledContextIsNotACall(t *testing.T) {
	m := newStore(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, m.Check(ctx, acme), context.Canceled)
	assert.Zero(t, m.APICalls(), "a call never sent is not counted")
}

func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts *contacts.MemoryOptions
	}{
		{"default", nil},
		{"step clock", &contacts.MemoryOptions{Now: stepClock()}},
		{"pages of 7", &contacts.MemoryOptions{PageSize: 7, FirstID: 29_000_000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			contactstest.Run(t, func(t *testing.T) contactstest.Harness {
				return contactstest.MemoryHarness(contacts.NewMemory(tc.opts), nil)
			})
		})
	}
	// Without the optional capabilities, their subtests skip.
	t.Run("bare ContactStore", func(t *testing.T) {
		contactstest.Run(t, func(t *testing.T) contactstest.Harness {
			m := contacts.NewMemory(nil)
			return contactstest.MemoryHarness(m, struct{ adsync.ContactStore }{m})
		})
	})
}

func TestMemoryDeleteAndEdit(t *testing.T) {
	m := newStore(t, nil)
	m.AddCompany(200, "Other")
	a := m.Seed(adsync.Contact{CompanyID: acme, Active: true, Values: person("Ann", "Lee", "")})
	b := m.Seed(adsync.Contact{CompanyID: acme, Active: true, Values: person("Bob", "Ray", "")})
	c := m.Seed(adsync.Contact{CompanyID: acme, Active: true, Values: person("Cy", "Oh", "")})

	require.True(t, m.Delete(b), "R-LINK-4 a contact deleted by a person")
	assert.False(t, m.Delete(b))
	all, _, err := readAll(t, m, acme)
	require.NoError(t, err)
	require.Len(t, all, 2)
	assert.Equal(t, []int64{a, c}, []int64{all[0].ID, all[1].ID})
	off := false
	require.ErrorIs(t, m.Update(context.Background(), adsync.ContactUpdate{ContactID: b, CompanyID: acme, Active: &off}), adsync.ErrNotFound)

	before, _ := m.Contact(a)
	require.True(t, m.Edit(a, func(c *adsync.Contact) { c.Values[adsync.Title] = "CEO"; c.CompanyID = 200 }))
	after, _ := m.Contact(a)
	assert.Equal(t, "CEO", after.Values[adsync.Title])
	assert.True(t, after.LastModified.After(before.LastModified), "an edit stamps LastModified")
	assert.Equal(t, []int64{c}, ids(m.All(acme)), "R-SCOPE-6 a contact moved to another company leaves this one")
	assert.Equal(t, []int64{a}, ids(m.All(200)))
	assert.Equal(t, int64(2), m.APICalls(), "edits and deletes are not API calls (the read and the refused Update were)")

	assert.False(t, m.Edit(b, func(*adsync.Contact) {}))
	assert.Panics(t, func() { m.Edit(a, func(c *adsync.Contact) { c.ID += 100 }) })
	assert.Panics(t, func() { m.Edit(a, func(c *adsync.Contact) { c.CompanyID = 999 }) })
}

func ids(cs []adsync.Contact) []int64 {
	out := make([]int64, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}
