package graph_test

import (
	"context"
	"testing"

	"github.com/psasync/adsync"
)

// BenchmarkFullRead reads a 10,000-member group from the emulator through
// the SDK: JSON decoding, paging and mapping, with the emulator's cost in
// the same process. It reports the Graph calls per read (⌈10000/999⌉).
func BenchmarkFullRead(b *testing.B) {
	e := newEnv(b, nil)
	e.addUsers(10_000, "Bench")
	ctx := context.Background()
	calls := 0
	for b.Loop() {
		e.srv.ResetRequests()
		n := 0
		if err := e.src.Users(ctx, func(p []adsync.User) error { n += len(p); return nil }); err != nil {
			b.Fatal(err)
		}
		if n != 10_000 {
			b.Fatalf("read %d users", n)
		}
		calls = e.srv.CountRequests("")
	}
	b.ReportMetric(float64(calls), "calls/read")
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/10_000, "µs/user")
}
