package contacts_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/contacts"
)

// A store with one company, a seeded inactive contact, and a create.
func ExampleMemory() {
	ctx := context.Background()
	m := contacts.NewMemory(nil)
	m.AddCompany(42, "Acme Ltd")

	var old adsync.Values
	old[adsync.FirstName], old[adsync.LastName] = "Old", "Timer"
	m.Seed(adsync.Contact{CompanyID: 42, Active: false, Values: old})

	var v adsync.Values
	v[adsync.FirstName], v[adsync.LastName], v[adsync.Email] = "Ann", "Lee", "ann@acme.example"
	id, err := m.Create(ctx, adsync.NewContact{CompanyID: 42, Values: v})
	if err != nil {
		panic(err)
	}
	fmt.Println("created", id)

	err = m.Contacts(ctx, 42, adsync.AllFieldSet, func(page []adsync.Contact) error {
		for _, c := range page {
			fmt.Println(c.ID, c.Values[adsync.FirstName], c.Active)
		}
		return nil
	})
	fmt.Println(err, m.APICalls())
	// Output:
	// created 2
	// 1 Old false
	// 2 Ann true
	// <nil> 2
}

// Fault injection: the response to a create is lost after the contact was
// created, as in a crash test (R-RUN-7).
func ExampleMemory_LoseResponse() {
	ctx := context.Background()
	m := contacts.NewMemory(nil)
	m.AddCompany(42, "Acme Ltd")

	m.LoseResponse(m.APICalls() + 1) // the next call
	var v adsync.Values
	v[adsync.FirstName], v[adsync.LastName] = "Ann", "Lee"
	_, err := m.Create(ctx, adsync.NewContact{CompanyID: 42, Values: v})
	fmt.Println(errors.Is(err, adsync.ErrUnavailable), len(m.All(42)))

	// A rule: every update of contact 1 fails.
	m.FailWhere(func(c contacts.Call) error {
		if c.Method == contacts.MethodUpdate && c.ContactID == 1 {
			return fmt.Errorf("thread limit: %w", adsync.ErrRateLimited)
		}
		return nil
	})
	off := false
	err = m.Update(ctx, adsync.ContactUpdate{ContactID: 1, CompanyID: 42, Active: &off})
	fmt.Println(errors.Is(err, adsync.ErrRateLimited), m.Counts())
	// Output:
	// true 1
	// true {2 0 1 1 0}
}
