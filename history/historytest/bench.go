package historytest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/psasync/adsync"
)

// BenchLinks is the size of the organization the benchmarks load and save:
// the largest the sync is designed for (docs/design.md, "Performance targets").
const BenchLinks = 400_000

// RunBenchmarks measures the link operations of stores made by newStore,
// one per benchmark, at BenchLinks links: PutLinks in one call and in
// batches of 500 (as the Syncer saves them), and Links. Each reports
// links/s.
func RunBenchmarks(b *testing.B, newStore func(b *testing.B) adsync.HistoryStore) {
	b.Run("PutLinks/one-call", func(b *testing.B) { benchPut(b, newStore(b), BenchLinks) })
	b.Run("PutLinks/batches-of-500", func(b *testing.B) { benchPut(b, newStore(b), adsync.MaxPageSize) })
	b.Run("Links", func(b *testing.B) {
		s := newStore(b)
		if err := s.PutLinks(b.Context(), "bench", ManyLinks("bench", BenchLinks)); err != nil {
			b.Fatal(err)
		}
		n := 0
		for b.Loop() {
			links, err := s.Links(b.Context(), "bench")
			if err != nil {
				b.Fatal(err)
			}
			if len(links) != BenchLinks {
				b.Fatalf("Links returned %d links, want %d", len(links), BenchLinks)
			}
			n++
		}
		reportLinks(b, n)
	})
}

// benchPut saves a fresh organization of BenchLinks links per loop, in
// PutLinks calls of batch links.
func benchPut(b *testing.B, s adsync.HistoryStore, batch int) {
	n := 0
	for b.Loop() {
		org := fmt.Sprintf("bench-%d", n)
		n++
		b.StopTimer()
		links := ManyLinks(org, BenchLinks)
		b.StartTimer()
		for part := range slices.Chunk(links, batch) {
			if err := s.PutLinks(b.Context(), org, part); err != nil {
				b.Fatal(err)
			}
		}
	}
	reportLinks(b, n)
}

func reportLinks(b *testing.B, loops int) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(loops)*BenchLinks/s, "links/s")
	}
}
