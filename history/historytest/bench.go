package historytest

import (
	"fmt"
	"testing"
	"time"

	"github.com/psasync/adsync"
)

// BenchLinks is the size of the organization the benchmarks load and save:
// the largest the sync is designed for (docs/design.md, "Performance targets").
const BenchLinks = 400_000

// RunBenchmarks measures the link operations of stores made by newStore,
// one per benchmark, at BenchLinks links with random GUIDs as user ids (as
// AD and Graph give them: random keys cost a B-tree more than sequential
// ones). FirstRun saves as the Syncer's first run of such an organization
// does: the run, then per batch of 500 creates the journal of its pending
// entries and its links (800 batches), then the finished run; it reports
// the seconds, and CPU seconds, of one such run.
// PutLinks in one call, and Links of the links a finished run saved,
// report links/s.
func RunBenchmarks(b *testing.B, newStore func(b *testing.B) adsync.HistoryStore) {
	b.Run("FirstRun", func(b *testing.B) { benchFirstRun(b, newStore(b)) })
	b.Run("PutLinks/one-call", func(b *testing.B) { benchPut(b, newStore(b)) })
	b.Run("Links", func(b *testing.B) {
		// The links of a finished run, as the next run loads them.
		s := newStore(b)
		run, err := s.StartRun(b.Context(), adsync.Run{OrgID: "bench", Status: adsync.StatusRunning, Started: t0})
		if err == nil {
			err = s.PutLinks(b.Context(), "bench", ManyLinks("bench", BenchLinks))
		}
		if err == nil {
			run.Status, run.Ended = adsync.StatusSucceeded, at(time.Hour)
			err = s.FinishRun(b.Context(), run)
		}
		if err != nil {
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

// benchFirstRun saves a fresh organization of BenchLinks links per loop
// the way a first run does: StartRun; for each batch of adsync.MaxPageSize
// creates, one PutLinks of their journal entries (pending) and one of their
// links; FinishRun.
func benchFirstRun(b *testing.B, s adsync.HistoryStore) {
	n := 0
	var cpu time.Duration
	for b.Loop() {
		org := fmt.Sprintf("bench-%d", n)
		n++
		b.StopTimer()
		links := ManyLinks(org, BenchLinks)
		journal := make([]adsync.Link, len(links))
		for i, l := range links {
			journal[i] = pending(org, l.UserID, 29_999_999)
			journal[i].Written = l.Written
		}
		b.StartTimer()
		start := cpuTime()
		run, err := s.StartRun(b.Context(), adsync.Run{OrgID: org, Status: adsync.StatusRunning, Started: t0})
		if err != nil {
			b.Fatal(err)
		}
		for lo := 0; lo < len(links); lo += adsync.MaxPageSize {
			hi := min(lo+adsync.MaxPageSize, len(links))
			if err := s.PutLinks(b.Context(), org, journal[lo:hi]); err != nil {
				b.Fatal(err)
			}
			if err := s.PutLinks(b.Context(), org, links[lo:hi]); err != nil {
				b.Fatal(err)
			}
		}
		run.Status, run.Ended = adsync.StatusSucceeded, at(time.Hour)
		if err := s.FinishRun(b.Context(), run); err != nil {
			b.Fatal(err)
		}
		cpu += cpuTime() - start
	}
	if n > 0 {
		b.ReportMetric(b.Elapsed().Seconds()/float64(n), "s/run")
		if cpu > 0 {
			b.ReportMetric(cpu.Seconds()/float64(n), "cpu-s/run")
		}
	}
	reportLinks(b, n)
}

// benchPut saves a fresh organization of BenchLinks links per loop in one
// PutLinks call.
func benchPut(b *testing.B, s adsync.HistoryStore) {
	n := 0
	for b.Loop() {
		org := fmt.Sprintf("bench-%d", n)
		n++
		b.StopTimer()
		links := ManyLinks(org, BenchLinks)
		b.StartTimer()
		if err := s.PutLinks(b.Context(), org, links); err != nil {
			b.Fatal(err)
		}
	}
	reportLinks(b, n)
}

func reportLinks(b *testing.B, loops int) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(loops)*BenchLinks/s, "links/s")
	}
}
