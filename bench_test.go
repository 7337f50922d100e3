package adsync_test

import (
	"context"
	"fmt"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/contacts"
	"github.com/psasync/adsync/history"
	"github.com/psasync/adsync/matcher"
	"github.com/psasync/adsync/merge"
	"github.com/psasync/adsync/source/sourcetest"
)

var (
	firstNames = []string{"Anna", "Ben", "Chloé", "David", "Emma", "François", "Grace", "Hiro", "Isabel", "Jakub", "Karin", "Léa", "Mateo", "Nora", "Oskar", "Priya", "Quinn", "Rafael", "Søren", "Zoë"}
	lastNames  = []string{"Andersen", "Brown", "Castro", "Dubois", "Evans", "Fischer", "García", "Hansen", "Ito", "Jensen", "Kowalski", "Lefèvre", "Müller", "Nakamura", "O'Brien", "Petrov", "Rossi", "Schmidt", "Tanaka", "Weiß"}
	titles     = []string{"Engineer", "Accountant", "Sales Manager", "Director of Operations", "Support Specialist", "Nurse", "Teacher", "Consultant"}
	cities     = []string{"Berlin", "Oslo", "Lyon", "Austin", "Leeds", "Kraków", "Porto", "Osaka"}
	countries  = []string{"DE", "NO", "FR", "US", "GB", "PL", "PT", "JP"}
)

// synthUser is user i of a synthetic organization: realistic values,
// unique email, names that repeat (as real names do) but with a per-user
// middle initial and suffix so that the name steps stay mostly unique.
func synthUser(i int) adsync.User {
	u := adsync.User{ID: fmt.Sprintf("%08x-4000-8000-0000-%012x", i, i), Enabled: true}
	v := &u.Values
	v[adsync.FirstName] = firstNames[i%len(firstNames)]
	v[adsync.LastName] = fmt.Sprintf("%s %d", lastNames[(i/len(firstNames))%len(lastNames)], i)
	v[adsync.Email] = fmt.Sprintf("user%d@customer.example", i)
	v[adsync.Title] = titles[i%len(titles)]
	v[adsync.Phone] = fmt.Sprintf("+49 30 %07d", i)
	v[adsync.City] = cities[i%len(cities)]
	v[adsync.CountryID] = countries[i%len(countries)]
	v[adsync.AddressLine] = fmt.Sprintf("%d Main Street", i%500+1)
	v[adsync.ZipCode] = fmt.Sprintf("%05d", i%99999)
	return u
}

// planFixture is an organization of n users against about as many
// contacts: 5 % new, 5 % changed, 1 % gone, 0.5 % conflicting, the rest
// linked and unchanged.
type planFixture struct {
	syncer *adsync.Syncer
	org    adsync.Org
	want   adsync.Counts
}

func newPlanFixture(tb testing.TB, n int) *planFixture {
	ctx := context.Background()
	store := contacts.NewMemory(&contacts.MemoryOptions{NoCallLog: true})
	store.AddCompany(company, "Contoso")
	src := sourcetest.NewMemory(nil)
	hist := history.NewMemory()
	countryIDs := map[string]string{}
	for _, c := range contacts.DefaultCountries() {
		countryIDs[c.Code] = fmt.Sprint(c.ID)
	}
	toContact := func(u adsync.User) adsync.Contact {
		c := adsync.Contact{CompanyID: company, Active: true, Values: u.Values}
		c.Values[adsync.CountryID] = countryIDs[u.Values[adsync.CountryID]]
		return c
	}
	var links []adsync.Link
	users := make([]adsync.User, 0, n)
	var want adsync.Counts
	for i := range n {
		u := synthUser(i)
		users = append(users, u)
		switch k := i % 1000; {
		case k < 50: // new
			want.Created++
		case k < 55: // conflicting: two contacts share the email (R-CONF-3)
			c := toContact(u)
			c.Values[adsync.LastName] = "Other"
			store.Seed(c)
			store.Seed(c)
			want.Conflicts++
		default:
			c := toContact(u)
			if k < 105 { // changed in the directory since
				c.Values[adsync.Title] = "Previous Title"
				want.Updated++
			} else {
				want.Unchanged++
			}
			id := store.Seed(c)
			links = append(links, adsync.Link{OrgID: "contoso", UserID: u.ID, ContactID: id, Active: true})
		}
	}
	for i := range n / 100 { // gone from the directory
		u := synthUser(n + i)
		id := store.Seed(toContact(u))
		links = append(links, adsync.Link{OrgID: "contoso", UserID: u.ID, ContactID: id, Active: true})
		want.Deactivated++
	}
	src.Put(users...)
	for i := 0; i < len(links); i += 5000 {
		if err := hist.PutLinks(ctx, "contoso", links[i:min(i+5000, len(links))]); err != nil {
			tb.Fatal(err)
		}
	}
	want.Read = n
	s, err := adsync.NewSyncer(adsync.Options{Store: store, History: hist, Matcher: matcher.New(nil), Fields: merge.New})
	if err != nil {
		tb.Fatal(err)
	}
	org := adsync.Org{Source: src, Config: adsync.OrgConfig{ID: "contoso", CompanyID: company, Enabled: true}}
	return &planFixture{syncer: s, org: org, want: want}
}

// heapPeak samples the live heap while running and reports the peak above
// the heap at the start.
type heapPeak struct {
	stop  chan struct{}
	wg    sync.WaitGroup
	base  uint64
	peak  atomic.Uint64
	probe []metrics.Sample
}

func startHeapPeak() *heapPeak {
	runtime.GC()
	h := &heapPeak{stop: make(chan struct{}), probe: []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}}
	metrics.Read(h.probe)
	h.base = h.probe[0].Value.Uint64()
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > h.peak.Load() {
				h.peak.Store(v)
			}
			select {
			case <-h.stop:
				return
			case <-t.C:
			}
		}
	}()
	return h
}

func (h *heapPeak) done() float64 {
	close(h.stop)
	h.wg.Wait()
	p := h.peak.Load()
	if p < h.base {
		return 0
	}
	return float64(p-h.base) / (1 << 20)
}

// BenchmarkPlan plans an organization of 10k, 100k and 400k users against
// as many contacts (docs/design.md target for 400k: ≤ 1 s, ≤ 600 MB peak heap).
// peak-heap-MB is the live heap above what the in-memory directory, store
// and history hold before the plan starts.
func BenchmarkPlan(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 400_000} {
		b.Run(fmt.Sprintf("users=%d", n), func(b *testing.B) {
			f := newPlanFixture(b, n)
			ctx := context.Background()
			var peak float64
			b.ResetTimer()
			for range b.N {
				b.StopTimer() // the heap probe starts with a full GC
				h := startHeapPeak()
				b.StartTimer()
				p, err := f.syncer.Plan(ctx, f.org)
				b.StopTimer()
				peak = max(peak, h.done())
				b.StartTimer()
				if err != nil {
					b.Fatal(err)
				}
				if p.Counts.Created != f.want.Created || p.Counts.Updated != f.want.Updated ||
					p.Counts.Deactivated != f.want.Deactivated || p.Counts.Conflicts != f.want.Conflicts {
					b.Fatalf("plan counts %v, want %v", p.Counts, f.want)
				}
			}
			b.ReportMetric(peak, "peak-heap-MB")
			b.ReportMetric(float64(n), "users")
		})
	}
}

// TestPlanFixture checks the benchmark's synthetic organization plans to
// the counts it was built for, so that the benchmark measures real work.
func TestPlanFixture(t *testing.T) {
	f := newPlanFixture(t, 2000)
	p, err := f.syncer.Plan(context.Background(), f.org)
	if err != nil {
		t.Fatal(err)
	}
	got := p.Counts
	got.Linked, got.Reactivated, got.Held, got.Skipped = 0, 0, 0, 0
	if got != f.want {
		t.Fatalf("plan counts\n got %v\nwant %v", got, f.want)
	}
}
