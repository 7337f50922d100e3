package merge_test

import (
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/merge"
)

// linkedPair is a linked user and its contact; every tenth differs in one
// field, as in a daily run.
func linkedPair(i int) (*adsync.User, *adsync.Contact) {
	v := adsync.Values{
		adsync.FirstName: "Alice", adsync.LastName: "Jones" + strconv.Itoa(i), adsync.Email: "alice" + strconv.Itoa(i) + "@example.com",
		adsync.Title: "Engineer", adsync.Phone: "+49 30 " + strconv.Itoa(1000+i), adsync.City: "Berlin",
		adsync.ZipCode: "10115", adsync.AddressLine: "Unter den Linden 1", adsync.CountryID: "DE",
	}
	u := &adsync.User{ID: strconv.Itoa(i), Values: v}
	c := &adsync.Contact{ID: int64(i), CompanyID: 1, Active: true}
	for f, s := range v {
		c.Values[f] = strings.Clone(s) // separate memory, as decoded from Autotask
	}
	c.Values[adsync.CountryID] = "81"
	if i%10 == 0 {
		c.Values[adsync.Title] = "Junior Engineer"
	}
	return u, c
}

// BenchmarkUpdate runs the rules over n linked users, as a plan does.
func BenchmarkUpdate(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 400_000} {
		b.Run(strconv.Itoa(n/1000)+"k", func(b *testing.B) {
			rules, err := merge.New(adsync.FieldParams{Selected: adsync.AllFieldSet,
				Countries: []adsync.Country{{ID: 81, Code: "DE", Name: "Germany"}, {ID: 225, Code: "US", Name: "United States"}}})
			if err != nil {
				b.Fatal(err)
			}
			users := make([]*adsync.User, n)
			contacts := make([]*adsync.Contact, n)
			for i := range n {
				users[i], contacts[i] = linkedPair(i)
			}
			b.ReportAllocs()
			var start syscall.Rusage
			_ = syscall.Getrusage(syscall.RUSAGE_SELF, &start)
			for b.Loop() {
				changed := 0
				for i, u := range users {
					up, _ := rules.Update(u, contacts[i])
					if !up.Empty() {
						changed++
					}
				}
				if changed != n/10 {
					b.Fatalf("%d changed, want %d", changed, n/10)
				}
			}
			// CPU time is steadier than wall time on a shared machine.
			var end syscall.Rusage
			_ = syscall.Getrusage(syscall.RUSAGE_SELF, &end)
			cpu := end.Utime.Nano() + end.Stime.Nano() - start.Utime.Nano() - start.Stime.Nano()
			b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}
