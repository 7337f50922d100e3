package contactstest_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/contacts"
	"github.com/psasync/adsync/contacts/contactstest"
)

// billingHarness adds a billing product to the memory harness.
type billingHarness struct{ contactstest.Harness }

func (billingHarness) BillingProduct(context.Context) (int64, error) { return 42, nil }

var _ contactstest.BillingProductHarness = billingHarness{}

// A mutant is a Memory with one rule of the contract broken.
type mutant struct {
	*contacts.Memory
	pageAll        bool // one page for everything
	descending     bool // pages in descending id order
	ignorePageErr  bool
	allCompanies   bool // Contacts reads every company's contacts
	ignoreCtx      bool
	writeBlank     bool // Create writes whitespace-only values as "-"
	updateAll      bool // Update writes every field
	anyCompany     bool // Update ignores u.CompanyID
	plainErrors    bool // errors lose their sentinel
	frozenModified bool // LastModified never moves (a stopped clock)
}

// mutants are the broken stores the suite must catch, with a phrase the
// failure must contain.
var mutants = map[string]struct {
	m    mutant
	want string
}{
	"one page":             {mutant{pageAll: true}, "contract: ContactStore.Contacts: calls page with 1 to adsync.MaxPageSize"},
	"descending ids":       {mutant{descending: true}, "ids must ascend"},
	"page error ignored":   {mutant{ignorePageErr: true}, "contract: ContactStore.Contacts: if page returns an error, Contacts stops"},
	"other companies read": {mutant{allCompanies: true}, "(R-SCOPE-6)"},
	"context ignored":      {mutant{ignoreCtx: true}, "contract: ContactStore: every method honours ctx"},
	"blank values written": {mutant{writeBlank: true}, "contract: ContactStore.Create: writes only the non-blank values"},
	"update writes all":    {mutant{updateAll: true}, "contract: ContactStore.Update: applies only the fields in u.Fields"},
	"update any company":   {mutant{anyCompany: true}, "given company"},
	"sentinels lost":       {mutant{plainErrors: true}, "adsync.ErrValidation naming the field"},
	"frozen LastModified":  {mutant{frozenModified: true}, "contract: ContactStore: Contact.LastModified is the time of the contact's last change"},
}

func (m *mutant) ctx(ctx context.Context) context.Context {
	if m.ignoreCtx {
		return context.Background()
	}
	return ctx
}

func (m *mutant) err(err error) error {
	if err != nil && m.plainErrors {
		return errors.New(err.Error())
	}
	return err
}

func (m *mutant) Contacts(ctx context.Context, co int64, fs adsync.FieldSet, page func([]adsync.Contact) error) error {
	var all []adsync.Contact
	cos := []int64{co}
	if m.allCompanies {
		cos = []int64{co - 1, co, co + 1}
	}
	for _, c := range cos {
		err := m.Memory.Contacts(m.ctx(ctx), c, fs, func(p []adsync.Contact) error {
			if m.pageAll || m.descending || m.allCompanies {
				all = append(all, p...)
				return nil
			}
			if err := page(p); err != nil && !m.ignorePageErr {
				return err
			}
			return nil
		})
		if err != nil && c == co {
			return m.err(err)
		}
	}
	if m.descending {
		slices.Reverse(all)
		for p := range slices.Chunk(all, 500) {
			if err := page(p); err != nil {
				return err
			}
		}
	} else if all != nil {
		return page(all)
	}
	return nil
}

func (m *mutant) Create(ctx context.Context, nc adsync.NewContact) (int64, error) {
	if m.writeBlank {
		for f, v := range nc.Values {
			if v != "" && strings.TrimSpace(v) == "" {
				nc.Values[f] = "-"
			}
		}
	}
	id, err := m.Memory.Create(m.ctx(ctx), nc)
	return id, m.err(err)
}

func (m *mutant) Update(ctx context.Context, u adsync.ContactUpdate) error {
	if m.updateAll {
		u.Fields = adsync.AllFieldSet &^ adsync.NewFieldSet(adsync.FirstName, adsync.LastName, adsync.CountryID)
	}
	if m.anyCompany {
		c, _ := m.Contact(u.ContactID)
		u.CompanyID = c.CompanyID
	}
	return m.err(m.Memory.Update(m.ctx(ctx), u))
}

func (m *mutant) Check(ctx context.Context, co int64) error {
	return m.err(m.Memory.Check(m.ctx(ctx), co))
}

func newMutant(name string) contactstest.Harness {
	mu := mutants[name].m
	opts := &contacts.MemoryOptions{}
	if mu.frozenModified {
		frozen := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		opts.Now = func() time.Time { return frozen }
	}
	mu.Memory = contacts.NewMemory(opts)
	return billingHarness{contactstest.MemoryHarness(mu.Memory, &mu)}
}

// TestMutant runs the suite on the mutant named by $CONTACTSTEST_MUTANT;
// TestSuiteCatchesBrokenStores runs it in a child process and expects it to
// fail.
func TestMutant(t *testing.T) {
	name := os.Getenv("CONTACTSTEST_MUTANT")
	if name == "" {
		t.Skip("run by TestSuiteCatchesBrokenStores")
	}
	contactstest.Run(t, func(t *testing.T) contactstest.Harness { return newMutant(name) })
}

func TestSuiteCatchesBrokenStores(t *testing.T) {
	if os.Getenv("CONTACTSTEST_MUTANT") != "" {
		t.Skip("in a child process")
	}
	for name, mu := range mutants {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestMutant$", "-test.count=1")
			cmd.Env = append(os.Environ(), "CONTACTSTEST_MUTANT="+name)
			out, err := cmd.CombinedOutput()
			assert.Error(t, err, "the suite passed a store with a broken rule:\n%s", out)
			assert.Contains(t, string(out), mu.want, "the failure does not explain the broken rule")
		})
	}
}
