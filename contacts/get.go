package contacts

import (
	"context"
	"fmt"

	"github.com/psasync/adsync"
)

var _ adsync.ContactGetter = (*Memory)(nil)

// GetContact returns the contact with the given id, whatever its company
// (adsync.ContactGetter); an error wrapping adsync.ErrNotFound if there is
// none. It counts as one API call, and is not subject to fault injection.
func (m *Memory) GetContact(ctx context.Context, id int64) (adsync.Contact, error) {
	if err := ctx.Err(); err != nil {
		return adsync.Contact{}, fmt.Errorf("contacts: GetContact %d: %w", id, err)
	}
	c, ok := m.Contact(id)
	adsync.CountAPICall(ctx)
	m.mu.Lock()
	m.counts.Calls++
	m.counts.Other++
	m.mu.Unlock()
	if !ok {
		return adsync.Contact{}, fmt.Errorf("contacts: contact %d: %w", id, adsync.ErrNotFound)
	}
	return c, nil
}
