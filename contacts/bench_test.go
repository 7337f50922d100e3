package contacts_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/contacts"
)

// BenchmarkMemoryContacts measures a full read of one company at the sizes
// the Syncer's benchmarks use, so the store's cost can be told apart from
// the Syncer's.
func BenchmarkMemoryContacts(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 400_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			m := contacts.NewMemory(&contacts.MemoryOptions{NoCallLog: true})
			m.AddCompany(1, "Acme")
			for i := range n {
				m.Seed(adsync.Contact{CompanyID: 1, Active: true, Values: person("First", fmt.Sprint("Last", i), fmt.Sprintf("user%d@example.com", i))})
			}
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				read := 0
				err := m.Contacts(ctx, 1, adsync.AllFieldSet, func(p []adsync.Contact) error { read += len(p); return nil })
				if err != nil || read != n {
					b.Fatalf("read %d of %d: %v", read, n, err)
				}
			}
		})
	}
}

// BenchmarkMemoryCreate measures one Create, with the call log on.
func BenchmarkMemoryCreate(b *testing.B) {
	m := contacts.NewMemory(nil)
	m.AddCompany(1, "Acme")
	ctx := context.Background()
	v := person("Ann", "Lee", "ann@example.com")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Create(ctx, adsync.NewContact{CompanyID: 1, Values: v}); err != nil {
			b.Fatal(err)
		}
	}
}
