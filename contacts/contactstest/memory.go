package contactstest

import (
	"context"
	"sync"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/contacts"
)

// MemoryHarness returns a harness over an in-memory store: the suite tests
// store, which reads and writes m (m itself when store is nil, or a
// decorator of m such as a cache or a rate limiter). Companies are added to
// m with ids from 1; MissingCompany is -1.
func MemoryHarness(m *contacts.Memory, store adsync.ContactStore) Harness {
	if store == nil {
		store = m
	}
	return &memoryHarness{m: m, store: store}
}

type memoryHarness struct {
	m     *contacts.Memory
	store adsync.ContactStore
	mu    sync.Mutex
	next  int64
}

func (h *memoryHarness) Store() adsync.ContactStore { return h.store }
func (h *memoryHarness) MissingCompany() int64      { return -1 }

func (h *memoryHarness) NewCompany(context.Context) (int64, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.next++
	h.m.AddCompany(h.next, "Conformance")
	return h.next, nil
}

func (h *memoryHarness) Seed(_ context.Context, c adsync.Contact) (int64, error) {
	return h.m.Seed(c), nil
}
