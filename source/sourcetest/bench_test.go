package sourcetest_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/source/sourcetest"
)

// BenchmarkMemoryUsers measures a full read of the in-memory directory at
// the sizes the Syncer's benchmarks use, so its cost can be told apart from
// the Syncer's.
func BenchmarkMemoryUsers(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 400_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			m := sourcetest.NewMemory(nil)
			for i := range n {
				var v adsync.Values
				v[adsync.FirstName], v[adsync.LastName] = "First", fmt.Sprint("Last", i)
				v[adsync.Email] = fmt.Sprintf("user%d@example.com", i)
				m.Add(adsync.User{Enabled: true, Values: v})
			}
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				read := 0
				if err := m.Users(ctx, func(p []adsync.User) error { read += len(p); return nil }); err != nil || read != n {
					b.Fatalf("read %d of %d: %v", read, n, err)
				}
			}
		})
	}
}
