package autotask

import (
	"context"
	"testing"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/autotask/autotasktest"
	"github.com/psasync/adsync/contacts/contactstest"
)

// harness runs the ContactStore conformance suite against the client and
// the emulator.
type harness struct {
	srv    *autotasktest.Server
	client *Client
}

func (h *harness) Store() adsync.ContactStore { return h.client }

func (h *harness) NewCompany(ctx context.Context) (int64, error) {
	return h.srv.AddCompany("Conformance"), nil
}

func (h *harness) MissingCompany() int64 { return 987_654_321 }

func (h *harness) Seed(ctx context.Context, c adsync.Contact) (int64, error) {
	return h.srv.SeedContact(c.CompanyID, seedFields(c))
}

func (h *harness) BillingProduct(ctx context.Context) (int64, error) {
	return h.srv.AddBillingProduct("Managed user"), nil
}

func TestConformance(t *testing.T) {
	contactstest.Run(t, func(t *testing.T) contactstest.Harness {
		srv := newEmulator(t, autotasktest.Options{})
		return &harness{srv: srv, client: newTestClient(t, srv, nil)}
	})
}
