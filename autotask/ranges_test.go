package autotask

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/autotask/autotasktest"
	"github.com/stretchr/testify/require"
)

// TestContactsRanges checks the contact read in id ranges: every contact
// once, in ascending id order, pages of 1 to 500 handed one at a time,
// whatever the spread of ids (the split points are an estimate from the
// first page), and with the ranges in flight at once.
func TestContactsRanges(t *testing.T) {
	tests := []struct {
		name string
		n    int
		// others is how many contacts of another company are seeded
		// before the company's i-th contact: the gaps in its ids.
		others func(i int) int
	}{
		{"dense ids", 4000, func(int) int { return 0 }},
		{"sparse after the first page", 4100, func(i int) int {
			if i > 500 {
				return 3
			}
			return 0
		}},
		{"dense after a sparse first page", 3700, func(i int) int {
			if i < 500 {
				return 5
			}
			return 0
		}},
		{"too few to split", 3500, func(int) int { return 0 }},
		{"one page and one more", 501, func(int) int { return 0 }},
		{"exactly one page", 500, func(int) int { return 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// 50 ms a call: ranges started at once overlap even on a
			// loaded machine (at 5 ms, a range goroutine scheduled late
			// on CI's two busy cores once found the others done).
			srv := newEmulator(t, autotasktest.Options{Latency: autotasktest.Latency{PerCall: 50 * time.Millisecond}})
			co, other := srv.AddCompany("Contoso"), srv.AddCompany("Other")
			var want []int64
			for i := range tt.n {
				for range tt.others(i) {
					_, err := srv.SeedContact(other, autotasktest.Fields{"firstName": "O", "lastName": "Ther"})
					require.NoError(t, err)
				}
				id, err := srv.SeedContact(co, autotasktest.Fields{"firstName": "F", "lastName": fmt.Sprint(i)})
				require.NoError(t, err)
				want = append(want, id)
			}
			c := newTestClient(t, srv, nil)
			srv.ResetRequests()
			var got []int64
			inPage := false
			err := c.Contacts(context.Background(), co, adsync.NewFieldSet(), func(cs []adsync.Contact) error {
				require.False(t, inPage, "pages are handed one at a time")
				inPage = true
				defer func() { inPage = false }()
				require.NotEmpty(t, cs)
				require.LessOrEqual(t, len(cs), adsync.MaxPageSize)
				for _, x := range cs {
					require.Equal(t, co, x.CompanyID)
					got = append(got, x.ID)
				}
				return nil
			})
			require.NoError(t, err)
			require.Equal(t, want, got, "every contact once, ids ascending")
			// One cursor reads until a page is not full.
			pages := tt.n/adsync.MaxPageSize + 1
			split := tt.n > adsync.MaxPageSize+minSplit
			if split {
				require.Greater(t, srv.MaxConcurrent("Contacts"), 1, "ranges read at once")
			} else {
				require.Equal(t, 1, srv.MaxConcurrent("Contacts"), "one cursor")
			}
			if tt.n >= adsync.MaxPageSize {
				require.Equal(t, 1, srv.CountRequests(http.MethodPost, "Contacts/query/count"))
			}
			// The count (its path matches too), and when split at most
			// one short page per range more than a single cursor reads.
			extra := 1
			if split {
				extra += readRanges - 1
			}
			require.LessOrEqual(t, srv.CountRequests(http.MethodPost, "Contacts/query"), pages+extra)
		})
	}
}

// TestContactsRangesStopOnPageError checks that an error of page stops
// the read, whichever range the page came from, and is returned.
func TestContactsRangesStopOnPageError(t *testing.T) {
	srv := newEmulator(t, autotasktest.Options{})
	co := srv.AddCompany("Contoso")
	for i := range 4000 {
		_, err := srv.SeedContact(co, autotasktest.Fields{"firstName": "F", "lastName": fmt.Sprint(i)})
		require.NoError(t, err)
	}
	c := newTestClient(t, srv, nil)
	stop := errors.New("stop")
	for _, at := range []int{1, 2, 4} {
		n := 0
		err := c.Contacts(context.Background(), co, adsync.NewFieldSet(), func([]adsync.Contact) error {
			n++
			if n == at {
				return stop
			}
			return nil
		})
		require.ErrorIs(t, err, stop)
		require.Equal(t, at, n, "no page after the error")
	}
}
