package historytest

import (
	"fmt"
	"testing"
	"time"

	"github.com/psasync/adsync"
)

// BenchDailyChanges is the daily run of the change-log benchmarks: 1 % of
// BenchLinks users changed.
const BenchDailyChanges = BenchLinks / 100

// ManyCreates returns n change records as a first run logs its creates:
// eleven fields each, as the demo's users have, the user's label with its
// id, outcome unknown (as logged before the writes).
func ManyCreates(n int) []adsync.ChangeRecord {
	out := make([]adsync.ChangeRecord, n)
	for i := range out {
		id := fmt.Sprintf("%08x-0000-4000-8000-%012d", i, i)
		first, last := fmt.Sprintf("First%d", i%997), fmt.Sprintf("Lastname%d", i%1009)
		email := fmt.Sprintf("first%d.lastname%d@northwind.example", i%997, i)
		out[i] = adsync.ChangeRecord{Seq: i, At: t0, Outcome: adsync.OutcomeUnknown, Change: adsync.Change{
			Kind: adsync.ChangeCreate, Rule: "R-MATCH-5", UserID: id, User: first + " " + last + " <" + email + "> (" + id + ")",
			Fields: []adsync.FieldChange{
				{Field: adsync.FirstName, After: first}, {Field: adsync.LastName, After: last}, {Field: adsync.Email, After: email},
				{Field: adsync.Title, After: "Software Engineer"}, {Field: adsync.Phone, After: fmt.Sprintf("+44 20 7946 %04d", i%10000)},
				{Field: adsync.MobilePhone, After: fmt.Sprintf("+44 7700 9%05d", i%100000)}, {Field: adsync.AddressLine, After: "1 Harbour Road"},
				{Field: adsync.AddressLine2, After: fmt.Sprintf("Floor %d", i%9)}, {Field: adsync.City, After: "London"},
				{Field: adsync.ZipCode, After: fmt.Sprintf("1%04d", i%10000)}, {Field: adsync.CountryID, After: "236"},
			}}}
	}
	return out
}

// dailyChanges returns the records of a daily run: title updates of n
// linked users.
func dailyChanges(n int) []adsync.ChangeRecord {
	out := make([]adsync.ChangeRecord, n)
	for i := range out {
		id := fmt.Sprintf("%08x-0000-4000-8000-%012d", i*100, i*100)
		out[i] = adsync.ChangeRecord{Seq: i, At: t0, Outcome: adsync.OutcomeUnknown, Change: adsync.Change{
			Kind: adsync.ChangeUpdate, Rule: "R-FIELD-3", UserID: id, User: "First Lastname <first.lastname@northwind.example> (" + id + ")",
			ContactID: int64(30_000_000 + i*100), Contact: fmt.Sprintf("First Lastname <first.lastname@northwind.example> (contact %d)", 30_000_000+i*100),
			Fields: []adsync.FieldChange{{Field: adsync.Title, Before: "Software Engineer", After: "Senior Software Engineer"}}}}
	}
	return out
}

// dailyRun returns the records and links of a daily run.
func dailyRun() ([]adsync.ChangeRecord, []adsync.Link) {
	recs := dailyChanges(BenchDailyChanges)
	links := make([]adsync.Link, len(recs))
	for i, r := range recs {
		links[i] = link("bench", r.UserID, r.ContactID)
	}
	return recs, links
}

// dailyStore returns a new store holding BenchLinks links and KeepRuns
// daily runs saved with or without the log.
func dailyStore(b *testing.B, newStore func(b *testing.B) adsync.HistoryStore, recs []adsync.ChangeRecord, links []adsync.Link,
	withLog bool) adsync.HistoryStore {
	s := newStore(b)
	if err := s.PutLinks(b.Context(), "bench", ManyLinks("bench", BenchLinks)); err != nil {
		b.Fatal(err)
	}
	for range adsync.KeepRuns {
		SaveRun(b, s, "bench", recs, links, false, withLog)
	}
	return s
}

// SaveRun saves one run's history as the Syncer does, in batches of 500:
// with the change log (withLog), each batch's create journal (a pending
// entry per user of its links) in one PutChanges before the writes (with the first batch's records when they
// are not creates), and in one PutOutcomes after: the batch marked
// written, the creates' records, the links and the next batch's records
// (not creates); without it, as the Syncer did before the change log, the journal
// and the links in two PutLinks. creates says whether the records are
// creates (journaled) or updates. The run is started and finished around
// the saves.
func SaveRun(tb testing.TB, s adsync.HistoryStore, org string, recs []adsync.ChangeRecord, links []adsync.Link, creates, withLog bool) int64 {
	ctx := tb.Context()
	r, err := s.StartRun(ctx, adsync.Run{OrgID: org, Trigger: adsync.TriggerScheduled, Started: t0, Status: adsync.StatusRunning})
	if err != nil {
		tb.Fatal(err)
	}
	for lo := 0; lo < len(recs); lo += adsync.MaxPageSize {
		hi := min(lo+adsync.MaxPageSize, len(recs))
		var journal []adsync.Link
		if creates {
			journal = make([]adsync.Link, hi-lo)
			for i := range journal {
				// The batch's users, as the Syncer journals them: each
				// user's pending entry is then superseded by its link.
				journal[i] = pending(org, links[lo+i].UserID, 29_999_999)
			}
		}
		batch := recs[lo:hi]
		var pre []adsync.ChangeRecord // creates are logged once, after; the others by the previous batch's save
		if !creates && lo == 0 {
			pre = batch
		}
		if withLog && len(pre)+len(journal) > 0 {
			err = s.PutChanges(ctx, org, r.ID, pre, journal)
		} else if !withLog && len(journal) > 0 {
			err = s.PutLinks(ctx, org, journal)
		}
		if err != nil {
			tb.Fatal(err)
		}
		var done []adsync.ChangeRecord // written updates are marked by the range, not sent again
		if creates {
			done = make([]adsync.ChangeRecord, len(batch))
			for i, c := range batch {
				c.Outcome, c.At, c.ContactID = adsync.OutcomeWritten, t0.Add(time.Second), int64(30_000_000+c.Seq)
				done[i] = c
			}
		}
		if withLog {
			if !creates {
				done = append(done, recs[hi:min(hi+adsync.MaxPageSize, len(recs))]...)
			}
			w := adsync.Written{From: lo, To: hi, At: t0.Add(time.Second)}
			err = s.PutOutcomes(ctx, org, r.ID, w, done, links[lo:hi])
		} else {
			err = s.PutLinks(ctx, org, links[lo:hi])
		}
		if err != nil {
			tb.Fatal(err)
		}
	}
	r.Status, r.Ended = adsync.StatusSucceeded, t0.Add(time.Minute)
	if err := s.FinishRun(ctx, r); err != nil {
		tb.Fatal(err)
	}
	return r.ID
}

// RunChangeLogBenchmarks measures what the change log adds to a run's
// history saves, on stores made by newStore: a first run of BenchLinks
// creates, and a daily run of BenchDailyChanges updates over BenchLinks
// links whose history already holds KeepRuns daily runs (so that its
// FinishRun prunes one, log included), alone and KeepRuns of them in a row
// (SteadyDaily, reported per run). Each pair runs the same saves with and
// without the log.
func RunChangeLogBenchmarks(b *testing.B, newStore func(b *testing.B) adsync.HistoryStore) {
	for _, withLog := range []bool{false, true} {
		name := map[bool]string{false: "links-only", true: "links+log"}[withLog]
		b.Run("FirstRun/"+name, func(b *testing.B) {
			recs, links := ManyCreates(BenchLinks), ManyLinks("bench", BenchLinks)
			var cpu time.Duration
			for b.Loop() {
				b.StopTimer()
				s := newStore(b)
				b.StartTimer()
				start := cpuTime()
				SaveRun(b, s, "bench", recs, links, true, withLog)
				cpu += cpuTime() - start
			}
			reportCPU(b, cpu)
		})
		b.Run("DailyRun/"+name, func(b *testing.B) {
			recs, links := dailyRun()
			var cpu time.Duration
			for b.Loop() {
				b.StopTimer()
				s := dailyStore(b, newStore, recs, links, withLog)
				b.StartTimer()
				start := cpuTime()
				SaveRun(b, s, "bench", recs, links, false, withLog)
				cpu += cpuTime() - start
			}
			reportCPU(b, cpu)
		})
		// The same, over KeepRuns daily runs in a row: what a run costs
		// in the long run. A single run's time depends on the work it
		// inherits: SQLite copies its write-ahead log into the file once
		// it passes 1,000 pages, in whichever commit crosses the mark,
		// and a run with the log crosses it more often.
		b.Run("SteadyDaily/"+name, func(b *testing.B) {
			recs, links := dailyRun()
			var total, cpu time.Duration
			for b.Loop() {
				b.StopTimer()
				s := dailyStore(b, newStore, recs, links, withLog)
				b.StartTimer()
				start, startCPU := time.Now(), cpuTime()
				for range adsync.KeepRuns {
					SaveRun(b, s, "bench", recs, links, false, withLog)
				}
				total, cpu = total+time.Since(start), cpu+cpuTime()-startCPU
			}
			runs := float64(b.N * adsync.KeepRuns)
			b.ReportMetric(float64(total.Nanoseconds())/runs, "ns/run")
			if cpu > 0 { // the process's CPU: all of SQLite's, PostgreSQL's client side only
				b.ReportMetric(float64(cpu.Nanoseconds())/runs, "cpu-ns/run")
			}
		})
	}
}

// RunChangeReadBenchmarks measures reading the change log, on a store
// holding a first run of BenchLinks creates and KeepRuns-1 daily runs
// after it: a run's records in pages of MaxChangePage (Run), and the
// changes of one contact (Contact) and of one user (User) across the kept
// runs, as `adsync history --contact/--user` reads them.
func RunChangeReadBenchmarks(b *testing.B, newStore func(b *testing.B) adsync.HistoryStore) {
	s := newStore(b)
	first := SaveRun(b, s, "bench", ManyCreates(BenchLinks), ManyLinks("bench", BenchLinks), true, true)
	recs, links := dailyRun()
	for range adsync.KeepRuns - 1 {
		SaveRun(b, s, "bench", recs, links, false, true)
	}
	ctx := b.Context()
	all := func(b *testing.B, f adsync.ChangeFilter) int {
		n := 0
		for {
			page, err := s.Changes(ctx, "bench", f)
			if err != nil {
				b.Fatal(err)
			}
			n += len(page)
			if len(page) < f.PageSize() {
				return n
			}
			last := page[len(page)-1]
			f.AfterRun, f.AfterSeq = last.RunID, last.Seq
		}
	}
	b.Run("Run", func(b *testing.B) {
		for b.Loop() {
			if n := all(b, adsync.ChangeFilter{RunID: first, Limit: adsync.MaxChangePage}); n != BenchLinks {
				b.Fatalf("read %d records, want %d", n, BenchLinks)
			}
		}
	})
	// A user changed in every daily run (and created in the first).
	user, contact := recs[len(recs)/2].UserID, recs[len(recs)/2].ContactID
	b.Run("Contact", func(b *testing.B) {
		for b.Loop() {
			if n := all(b, adsync.ChangeFilter{ContactID: contact}); n < adsync.KeepRuns-1 {
				b.Fatalf("read %d changes of contact %d, want at least %d", n, contact, adsync.KeepRuns-1)
			}
		}
	})
	b.Run("User", func(b *testing.B) {
		for b.Loop() {
			if n := all(b, adsync.ChangeFilter{UserID: user}); n < adsync.KeepRuns-1 {
				b.Fatalf("read %d changes of user %s, want at least %d", n, user, adsync.KeepRuns-1)
			}
		}
	})
}

// reportCPU reports the process's CPU seconds per loop (cpu, over
// b.N loops): on a shared machine steadier than the wall time.
func reportCPU(b *testing.B, cpu time.Duration) {
	if b.N > 0 && cpu > 0 {
		b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
	}
}
