package matcher_test

import (
	"context"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/matcher"
)

var benchFirst = []string{"Alice", "Bob", "Carol", "Dan", "Eve", "Frank", "Grace", "Heidi", "Ivan", "Judy", "José", "Zoë", "Łukasz", "Søren", "Mary-Jane", "Seán"}

// population makes n unlinked users and n contacts of one company, shaped
// like a first run: a quarter match by email on an active contact, a
// quarter by email on an inactive one... (see below), the rest by name or
// not at all. Names mix ASCII with diacritics.
func population(n int) adsync.MatchInput {
	users := make([]*adsync.User, n)
	contacts := make([]*adsync.Contact, n)
	for i := range n {
		last := "Lastname" + strconv.Itoa(i)
		first := benchFirst[i%len(benchFirst)]
		u := &adsync.User{ID: "00000000-0000-0000-0000-" + strconv.Itoa(1_000_000_000_000+i), Enabled: true}
		u.Values[adsync.FirstName] = first
		u.Values[adsync.LastName] = last
		u.Values[adsync.Email] = "user" + strconv.Itoa(i) + "@example.com"
		u.Values[adsync.Title] = "Engineer"
		users[i] = u
		c := &adsync.Contact{ID: int64(30_000_000 + i), CompanyID: 1, Active: i%8 != 1}
		c.Values[adsync.FirstName] = first
		c.Values[adsync.LastName] = last
		switch i % 4 {
		case 0, 1: // R-MATCH-1 / R-MATCH-2
			c.Values[adsync.Email] = "User" + strconv.Itoa(i) + "@Example.com"
		case 2: // R-MATCH-3 / R-MATCH-4
			c.Values[adsync.Email] = "old" + strconv.Itoa(i) + "@example.org"
		case 3: // R-MATCH-5: an unrelated contact
			c.Values[adsync.FirstName] = "Other"
			c.Values[adsync.Email] = "other" + strconv.Itoa(i) + "@example.net"
		}
		contacts[i] = c
	}
	return adsync.MatchInput{Users: users, Contacts: contacts}
}

var sizes = []struct {
	name string
	n    int
}{{"10k", 10_000}, {"100k", 100_000}, {"400k", 400_000}}

// BenchmarkMatch is a first run: every user unlinked.
func BenchmarkMatch(b *testing.B) {
	for _, s := range sizes {
		b.Run(s.name, func(b *testing.B) {
			in := population(s.n)
			m := matcher.New(nil)
			b.ReportAllocs()
			cpu := cpuTime()
			for b.Loop() {
				if _, err := m.Match(context.Background(), in); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, cpu)
		})
	}
}

// BenchmarkMatchSteady is a later run: all but 1 % of the users are linked,
// and the matcher still sees every contact.
func BenchmarkMatchSteady(b *testing.B) {
	for _, s := range sizes {
		b.Run(s.name, func(b *testing.B) {
			in := population(s.n)
			k := s.n / 100
			in.Linked, in.Users = in.Users[k:], in.Users[:k]
			m := matcher.New(nil)
			b.ReportAllocs()
			cpu := cpuTime()
			for b.Loop() {
				if _, err := m.Match(context.Background(), in); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, cpu)
		})
	}
}

func BenchmarkNormalize(b *testing.B) {
	for _, s := range []string{"Mary-Jane", "José"} {
		b.Run(s, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = matcher.Normalize(s)
			}
		})
	}
}

// cpuTime is the process's CPU time, user and system. On a shared machine
// it is steadier than wall time; both are reported.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}
