package graphtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readAll pages through a collection with $top=999 and returns the ids in
// order and the number of calls.
func readAll(tb testing.TB, srv *Server, first string) (ids []string, calls int) {
	tb.Helper()
	next := first
	for next != "" {
		req, err := http.NewRequest(http.MethodGet, next, nil)
		require.NoError(tb, err)
		req.Header.Set("Authorization", "Bearer tok")
		resp, err := srv.Client().Do(req)
		require.NoError(tb, err)
		var p struct {
			Value    []struct{ ID string }
			NextLink string `json:"@odata.nextLink"`
		}
		err = json.NewDecoder(resp.Body).Decode(&p)
		resp.Body.Close()
		require.NoError(tb, err)
		require.Equal(tb, http.StatusOK, resp.StatusCode)
		for _, v := range p.Value {
			ids = append(ids, v.ID)
		}
		next = p.NextLink
		calls++
	}
	return ids, calls
}

// seedGroup makes a group of n users with an extension property.
func seedGroup(n int) (*Server, string, []string) {
	srv := NewServer()
	g := srv.AddGroup("", "Staff")
	users := make([]User, n)
	for i := range users {
		users[i] = User{DisplayName: fmt.Sprintf("User %d", i), City: "Oslo", Extra: map[string]any{"extension_app_costCenter": i}}
	}
	return srv, g, srv.AddUsers(g, users...)
}

// Paging through a member listing or the initial delta round computes
// the listing once, not once per page: reading is linear in the group's
// size (issue #14), and a change between pages is still seen.
func TestPagingComputesTheListingOnce(t *testing.T) {
	srv, g, want := seedGroup(5_000)
	defer srv.Close()
	q := "?$select=id,displayName,extension_app_costCenter&$top=999"
	got, calls := readAll(t, srv, srv.GraphURL()+"/groups/"+g+"/transitiveMembers/microsoft.graph.user"+q)
	assert.Equal(t, want, got)
	assert.Equal(t, 6, calls)
	assert.Equal(t, 1, srv.listBuilds, "one listing for six pages")

	srv.SetDeltaPageSize(999)
	got, calls = readAll(t, srv, srv.GraphURL()+"/users/delta"+q)
	assert.Equal(t, want, got)
	assert.Equal(t, 6, calls)

	extra := srv.AddUsers(g, User{DisplayName: "Late"})
	got, _ = readAll(t, srv, srv.GraphURL()+"/groups/"+g+"/members/graph.user"+q)
	assert.Equal(t, append(want, extra...), got, "a change makes a new listing")
	assert.Equal(t, 2, srv.listBuilds)
}

// BenchmarkMemberListing pages through groups of 10,000 and 100,000
// members: the cost per member stays the same when the group grows.
func BenchmarkMemberListing(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			srv, g, _ := seedGroup(n)
			defer srv.Close()
			first := srv.GraphURL() + "/groups/" + g + "/transitiveMembers/microsoft.graph.user?$select=id,displayName,city,accountEnabled&$top=999"
			for b.Loop() {
				if got, _ := readAll(b, srv, first); len(got) != n {
					b.Fatalf("read %d members", len(got))
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/member")
		})
	}
}
