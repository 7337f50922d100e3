// Direct access to a Memory, behind the API's back: a test sets up
// companies and contacts with it and inspects what the API calls did. None
// of it counts as an API call or is subject to faults.

package contacts

import (
	"fmt"
	"slices"
	"sort"

	"github.com/psasync/adsync"
)

// Assignment is one billing product assigned to a contact.
type Assignment struct {
	ContactID int64
	ProductID int64
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
