package contactstest_test

import (
	"context"
	"testing"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/contacts"
	"github.com/psasync/adsync/contacts/contactstest"
)

// cachingStore stands for a decorator of a ContactStore, e.g. one that
// paces calls under the API budget: it must keep the store's contract.
type cachingStore struct{ adsync.ContactStore }

// How a ContactStore implementation runs the suite: in its own test, with
// a harness that gives the suite a store and fresh companies. Here a
// decorator runs it over an in-memory store with MemoryHarness.
func Example() {
	testConformance := func(t *testing.T) {
		contactstest.Run(t, func(t *testing.T) contactstest.Harness {
			m := contacts.NewMemory(nil)
			return contactstest.MemoryHarness(m, cachingStore{m})
		})
	}
	_ = testConformance // in a _test.go file: func TestConformance(t *testing.T) { ... }
}

// A harness for a store backed by a service: each NewCompany makes a
// company there, and Seed writes a contact directly, bypassing the store
// under test (e.g. an inactive one, which Create cannot make).
type serviceHarness struct {
	store adsync.ContactStore
	mem   *contacts.Memory // stands for the service's own admin API
	next  int64
}

func (h *serviceHarness) Store() adsync.ContactStore { return h.store }
func (h *serviceHarness) MissingCompany() int64      { return 987_654_321 }
func (h *serviceHarness) NewCompany(context.Context) (int64, error) {
	h.next++
	h.mem.AddCompany(h.next, "Conformance")
	return h.next, nil
}
func (h *serviceHarness) Seed(_ context.Context, c adsync.Contact) (int64, error) {
	return h.mem.Seed(c), nil
}

// A harness written out in full.
func ExampleHarness() {
	testConformance := func(t *testing.T) {
		contactstest.Run(t, func(t *testing.T) contactstest.Harness {
			m := contacts.NewMemory(nil)
			return &serviceHarness{store: m, mem: m}
		})
	}
	_ = testConformance
}
