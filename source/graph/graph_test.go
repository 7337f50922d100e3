package graph_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/source/graph"
	"github.com/psasync/adsync/source/graph/graphtest"
)

// env is an emulator with one group, and a source reading it.
type env struct {
	srv *graphtest.Server
	gid string
	src *graph.Source
}

func newEnv(t testing.TB, configure func(*graph.Config)) *env {
	t.Helper()
	srv := graphtest.NewServer()
	t.Cleanup(srv.Close)
	e := &env{srv: srv, gid: srv.AddGroup("", "Contoso staff")}
	e.src = e.source(t, configure)
	return e
}

func (e *env) source(t testing.TB, configure func(*graph.Config)) *graph.Source {
	t.Helper()
	cfg := graph.Config{GroupID: e.gid, BaseURL: e.srv.GraphURL(), Credential: graph.StaticToken("test-token")}
	if configure != nil {
		configure(&cfg)
	}
	src, err := graph.New(cfg)
	require.NoError(t, err)
	return src
}

// addUsers creates n users named by prefix and makes them members of the
// group; it returns their ids.
func (e *env) addUsers(n int, prefix string) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = e.srv.PutUser(graphtest.User{
			GivenName: prefix, Surname: fmt.Sprintf("User%05d", i),
			DisplayName:       fmt.Sprintf("%s User%05d", prefix, i),
			UserPrincipalName: fmt.Sprintf("%s%05d@contoso.example", strings.ToLower(prefix), i),
			Mail:              fmt.Sprintf("%s%05d@contoso.example", strings.ToLower(prefix), i),
		})
	}
	e.srv.AddMembers(e.gid, ids...)
	return ids
}

// readAll reads every user, checking the page sizes.
func readAll(t testing.TB, src adsync.DirectorySource) ([]adsync.User, error) {
	t.Helper()
	var out []adsync.User
	err := src.Users(context.Background(), func(p []adsync.User) error {
		require.NotEmpty(t, p)
		require.LessOrEqual(t, len(p), adsync.MaxPageSize)
		out = append(out, p...)
		return nil
	})
	return out, err
}

func ids(us []adsync.User) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.ID
	}
	return out
}

func TestUsersPaging(t *testing.T) {
	for _, n := range []int{0, 1, 500, 999, 1000, 2500} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			e := newEnv(t, nil)
			want := e.addUsers(n, "Pat")
			got, err := readAll(t, e.src)
			require.NoError(t, err)
			assert.ElementsMatch(t, want, ids(got), "each member once")
			assert.Equal(t, max(1, (n+998)/999), e.srv.CountRequests("/transitiveMembers/"), "⌈n/999⌉ member-page calls")
			for _, r := range e.srv.Requests() {
				assert.Contains(t, r.RawQuery, "top=999")
			}
		})
	}
}

// TestGraphCallsFor10000Members is the figure of the README and
// BENCHMARKS.md: a full read of a 10,000-member group costs ⌈10000/999⌉ = 11
// Graph calls.
func TestGraphCallsFor10000Members(t *testing.T) {
	e := newEnv(t, nil)
	e.addUsers(10_000, "Kim")
	got, err := readAll(t, e.src)
	require.NoError(t, err)
	require.Len(t, got, 10_000)
	assert.Equal(t, 11, e.srv.CountRequests("/transitiveMembers/"))
	assert.Equal(t, 11, e.srv.CountRequests(""), "no other call")
}

func TestMembership(t *testing.T) {
	e := newEnv(t, nil)
	direct := e.addUsers(2, "Direct")
	sub := e.srv.AddGroup("", "Sub team")
	subsub := e.srv.AddGroup("", "Sub sub team")
	nested := e.srv.PutUser(graphtest.User{UserPrincipalName: "nested@contoso.example", DisplayName: "Nested"})
	deep := e.srv.PutUser(graphtest.User{UserPrincipalName: "deep@contoso.example", DisplayName: "Deep"})
	device := e.srv.AddObject("", "#microsoft.graph.device", "Laptop 7")
	contact := e.srv.AddObject("", "#microsoft.graph.orgContact", "External")
	e.srv.AddMembers(subsub, deep, direct[0]) // direct[0] twice through nesting
	e.srv.AddMembers(sub, nested, subsub)
	e.srv.AddMembers(e.gid, sub, device, contact)
	e.srv.AddMembers(subsub, sub) // a cycle

	t.Run("R-SCOPE-4 nested groups count by default, users only, each once", func(t *testing.T) {
		got, err := readAll(t, e.src)
		require.NoError(t, err)
		assert.ElementsMatch(t, []string{direct[0], direct[1], nested, deep}, ids(got))
	})
	t.Run("R-SCOPE-4 direct members only", func(t *testing.T) {
		src := e.source(t, func(c *graph.Config) { c.DirectMembersOnly = true })
		got, err := readAll(t, src)
		require.NoError(t, err)
		assert.ElementsMatch(t, direct, ids(got))
		assert.Positive(t, e.srv.CountRequests("/members/graph.user"))
	})
}

// A tenant that answers the user cast only as an advanced query
// (docs/directories.md §A1): the source asks again with ConsistencyLevel: eventual
// and $count=true, and keeps the header on every later page.
func TestAdvancedQueryFallback(t *testing.T) {
	for _, direct := range []bool{false, true} {
		t.Run(fmt.Sprintf("direct=%t", direct), func(t *testing.T) {
			e := newEnv(t, func(c *graph.Config) { c.DirectMembersOnly = direct })
			want := e.addUsers(2500, "Adv")
			e.srv.RequireAdvancedQueryForCast(true)
			got, err := readAll(t, e.src)
			require.NoError(t, err)
			assert.ElementsMatch(t, want, ids(got))
			assert.Equal(t, 1+3, e.srv.CountRequests("/graph.user"), "one refused call, then ⌈2500/999⌉")

			_, err = e.src.Check(context.Background())
			require.NoError(t, err)
			_, cursor, err := readSince(t, e.src, "")
			require.NoError(t, err)
			_, _, err = readSince(t, e.src, cursor)
			require.NoError(t, err, "the member-id read of an incremental read too")
		})
	}
}

func TestMapping(t *testing.T) {
	full := graphtest.User{
		GivenName: "Ada", Surname: "Lovelace", DisplayName: "Ada Lovelace",
		Mail: "ada@contoso.example", UserPrincipalName: "ada.l@contoso.example",
		OtherMails:     []string{"ada@home.example"},
		ProxyAddresses: []string{"smtp:alias@contoso.example", "SMTP:primary@contoso.example"},
		JobTitle:       "Analyst", BusinessPhones: []string{"+44 20 1", "+44 20 2"},
		MobilePhone: "+44 77 1", FaxNumber: "+44 20 9",
		StreetAddress: "12 St James's Square\r\nFloor 3\nWing B", City: "London", State: "Greater London",
		PostalCode: "SW1Y 4JH", Country: "United Kingdom", UsageLocation: "gb",
		OfficeLocation: "3.14", CompanyName: "Contoso", Department: "Research", EmployeeID: "E-7",
		Extra: map[string]any{"extension_abc_costCenter": "CC-42"},
	}
	var want adsync.Values
	want[adsync.FirstName], want[adsync.LastName] = "Ada", "Lovelace"
	want[adsync.Email], want[adsync.Title] = "ada@contoso.example", "Analyst"
	want[adsync.Phone], want[adsync.MobilePhone], want[adsync.Fax] = "+44 20 1", "+44 77 1", "+44 20 9"
	want[adsync.AddressLine], want[adsync.AddressLine2] = "12 St James's Square", "Floor 3, Wing B"
	want[adsync.City], want[adsync.State], want[adsync.ZipCode] = "London", "Greater London", "SW1Y 4JH"
	want[adsync.CountryID], want[adsync.RoomNumber] = "GB", "3.14"

	with := func(v adsync.Values, set map[adsync.Field]string) adsync.Values {
		for f, s := range set {
			v[f] = s
		}
		return v
	}
	tests := []struct {
		name      string
		user      func(*graphtest.User)
		configure func(*graph.Config)
		want      adsync.Values
		enabled   bool
	}{
		{name: "default field map (docs/rules.md §5)", want: want, enabled: true},
		{name: "R-FIELD-6 country name when usageLocation is blank", user: func(u *graphtest.User) { u.UsageLocation = "" },
			want: with(want, map[adsync.Field]string{adsync.CountryID: "United Kingdom"}), enabled: true},
		{name: "R-MATCH-8 no UPN fallback: the Syncer's", user: func(u *graphtest.User) { u.Mail = "" },
			want: with(want, map[adsync.Field]string{adsync.Email: ""}), enabled: true},
		{name: "R-SCOPE-8 disabled users delivered disabled", user: func(u *graphtest.User) { u.Disabled = true },
			want: want, enabled: false},
		{name: "blank properties are blank values", user: func(u *graphtest.User) {
			*u = graphtest.User{ID: u.ID, UserPrincipalName: u.UserPrincipalName, DisplayName: "Only Name"}
		}, enabled: true},
		{name: "overrides: a property, a collection, a proxy address, an extension", configure: func(c *graph.Config) {
			c.Properties = map[adsync.Field]string{
				adsync.Title: "department", adsync.AlternatePhone: "businessPhones", adsync.Email: "proxyAddresses",
				adsync.MiddleInitial: "extension_abc_costCenter", adsync.AddressLine2: "companyName", adsync.CountryID: "country",
			}
		}, want: with(want, map[adsync.Field]string{
			adsync.Title: "Research", adsync.AlternatePhone: "+44 20 1", adsync.Email: "primary@contoso.example",
			adsync.MiddleInitial: "CC-42", adsync.AddressLine2: "Contoso", adsync.CountryID: "United Kingdom",
		}), enabled: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.configure)
			u := full
			u.ID = "5b0c5bfe-0000-4000-8000-00000000ada1"
			if tt.user != nil {
				tt.user(&u)
			}
			e.srv.AddMembers(e.gid, e.srv.PutUser(u))
			got, err := readAll(t, e.src)
			require.NoError(t, err)
			require.Len(t, got, 1)
			assert.Equal(t, u.ID, got[0].ID)
			assert.Equal(t, u.UserPrincipalName, got[0].UPN)
			assert.Equal(t, u.DisplayName, got[0].Name)
			assert.Equal(t, tt.enabled, got[0].Enabled)
			for f := adsync.Field(0); f < adsync.NumFields; f++ {
				assert.Equal(t, tt.want[f], got[0].Values[f], f.String())
			}
		})
	}
}

func TestSelectAndTop(t *testing.T) {
	e := newEnv(t, func(c *graph.Config) {
		c.Properties = map[adsync.Field]string{adsync.Title: "department"}
	})
	e.addUsers(1, "Sel")
	_, err := readAll(t, e.src)
	require.NoError(t, err)
	reqs := e.srv.Requests()
	require.Len(t, reqs, 1)
	q := reqs[0].RawQuery
	for _, p := range []string{"id", "userPrincipalName", "displayName", "accountEnabled", "givenName", "surname", "mail",
		"department", "businessPhones", "mobilePhone", "faxNumber", "streetAddress", "city", "state", "postalCode",
		"usageLocation", "country", "officeLocation"} {
		assert.Contains(t, q, p)
	}
	assert.NotContains(t, q, "jobTitle", "an overridden property is not selected")
}

func TestPageCallbackError(t *testing.T) {
	e := newEnv(t, nil)
	e.addUsers(1500, "Cb")
	stop := errors.New("stop here")
	calls := 0
	err := e.src.Users(context.Background(), func([]adsync.User) error {
		calls++
		return stop
	})
	require.ErrorIs(t, err, stop)
	assert.Equal(t, 1, calls)
	assert.Equal(t, 1, e.srv.CountRequests("/transitiveMembers/"), "no page fetched after the error")
}

func TestThrottling(t *testing.T) {
	t.Run("429 with Retry-After is retried transparently", func(t *testing.T) {
		e := newEnv(t, nil)
		want := e.addUsers(1200, "Thr")
		e.srv.InjectFault(graphtest.Fault{Path: "/transitiveMembers/", Status: 429, RetryAfter: "0", Times: 2})
		got, err := readAll(t, e.src)
		require.NoError(t, err)
		assert.ElementsMatch(t, want, ids(got))
		assert.Equal(t, 2+2, e.srv.CountRequests("/transitiveMembers/"))
	})
	t.Run("503 and 504 are retried", func(t *testing.T) {
		e := newEnv(t, nil)
		e.addUsers(3, "Thr")
		e.srv.InjectFault(graphtest.Fault{Status: 503, RetryAfter: "0", Times: 1})
		e.srv.InjectFault(graphtest.Fault{Status: 504, RetryAfter: "0", Times: 1})
		got, err := readAll(t, e.src)
		require.NoError(t, err)
		assert.Len(t, got, 3)
	})
	t.Run("throttled past the retries", func(t *testing.T) {
		e := newEnv(t, func(c *graph.Config) { c.MaxRetries = 2 })
		e.addUsers(3, "Thr")
		e.srv.InjectFault(graphtest.Fault{Status: 429, RetryAfter: "0"})
		_, err := readAll(t, e.src)
		require.ErrorIs(t, err, adsync.ErrRateLimited)
		assert.True(t, adsync.IsSystemic(err))
		assert.Contains(t, err.Error(), "try again later")
		assert.Equal(t, 1+2, e.srv.CountRequests(""), "the first try and MaxRetries retries")
	})
	t.Run("throttled on a later page", func(t *testing.T) {
		e := newEnv(t, nil)
		e.addUsers(1500, "Thr")
		e.srv.InjectFault(graphtest.Fault{Path: "/transitiveMembers/", Status: 429, RetryAfter: "0"})
		e.srv.ClearFaults()
		// Fault only the second page: the first answered, then all 429.
		calls := 0
		err := e.src.Users(context.Background(), func([]adsync.User) error {
			calls++
			if calls == 1 {
				e.srv.InjectFault(graphtest.Fault{Status: 429, RetryAfter: "0"})
			}
			return nil
		})
		require.ErrorIs(t, err, adsync.ErrRateLimited)
	})
	t.Run("the context cancels the wait for Retry-After", func(t *testing.T) {
		e := newEnv(t, nil)
		e.addUsers(3, "Thr")
		e.srv.InjectFault(graphtest.Fault{Status: 429, RetryAfter: "120"})
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		err := e.src.Users(ctx, func([]adsync.User) error { return nil })
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, 1, e.srv.CountRequests(""), "no retry after the cancellation")
	})
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name     string
		fault    graphtest.Fault
		kind     error
		contains []string
	}{
		{"403 names both permissions", graphtest.Fault{Status: 403}, adsync.ErrUnauthorized,
			[]string{"Authorization_RequestDenied", "GroupMember.Read.All", "User.Read.All"}},
		{"404 group not found", graphtest.Fault{Status: 404}, adsync.ErrNotFound, []string{"groupId", "Object ID"}},
		{"401 token refused", graphtest.Fault{Status: 401}, adsync.ErrUnauthorized, []string{"InvalidAuthenticationToken"}},
		{"503 past the retries", graphtest.Fault{Status: 503, RetryAfter: "0"}, adsync.ErrUnavailable, []string{"HTTP 503"}},
		{"error body without a message does not panic", graphtest.Fault{Status: 403, OmitMessage: true}, adsync.ErrUnauthorized,
			[]string{"Authorization_RequestDenied", "User.Read.All"}},
		{"500 body without a message does not panic", graphtest.Fault{Status: 500, OmitMessage: true}, adsync.ErrUnavailable,
			[]string{"HTTP 500"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.addUsers(2, "Err")
			e.srv.InjectFault(tt.fault)
			_, err := readAll(t, e.src)
			require.ErrorIs(t, err, tt.kind)
			var ge *graph.Error
			require.ErrorAs(t, err, &ge)
			assert.Equal(t, tt.fault.Status, ge.Status)
			for _, s := range tt.contains {
				assert.Contains(t, err.Error(), s)
			}
			assert.Contains(t, err.Error(), e.gid, "says which group")
		})
	}
	t.Run("group that does not exist", func(t *testing.T) {
		e := newEnv(t, nil)
		src := e.source(t, func(c *graph.Config) { c.GroupID = "00000000-0000-4000-8000-000000000404" })
		_, err := readAll(t, src)
		require.ErrorIs(t, err, adsync.ErrNotFound)
		_, err = src.Check(context.Background())
		require.ErrorIs(t, err, adsync.ErrNotFound)
		assert.Contains(t, err.Error(), "00000000-0000-4000-8000-000000000404")
	})
	t.Run("unreachable Graph", func(t *testing.T) {
		e := newEnv(t, nil)
		e.srv.Close()
		_, err := readAll(t, e.src)
		require.ErrorIs(t, err, adsync.ErrUnavailable)
	})
}

func TestPermissionTrap(t *testing.T) {
	for _, n := range []int{3, 1200} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			e := newEnv(t, nil)
			e.addUsers(n, "Trap")
			e.srv.SetPermissions(graphtest.PermGroupMemberReadAll)
			delivered := 0
			err := e.src.Users(context.Background(), func(p []adsync.User) error { delivered += len(p); return nil })
			require.ErrorIs(t, err, adsync.ErrUnauthorized)
			assert.Contains(t, err.Error(), "User.Read.All")
			assert.Contains(t, err.Error(), "only their id")
			assert.Zero(t, delivered, "no empty users reach the Syncer")

			_, err = e.src.Check(context.Background())
			require.ErrorIs(t, err, adsync.ErrUnauthorized)
			assert.Contains(t, err.Error(), "User.Read.All")
		})
	}
}

func TestCheck(t *testing.T) {
	t.Run("ok", func(t *testing.T) {
		e := newEnv(t, nil)
		e.addUsers(1, "Chk")
		st, err := e.src.Check(context.Background())
		require.NoError(t, err)
		assert.Equal(t, adsync.TLSNotApplicable, st.TLS)
		assert.Contains(t, st.Detail, "Contoso staff")
	})
	t.Run("empty group is fine", func(t *testing.T) {
		e := newEnv(t, nil)
		_, err := e.src.Check(context.Background())
		require.NoError(t, err)
	})
	t.Run("missing group permission", func(t *testing.T) {
		e := newEnv(t, nil)
		e.srv.SetPermissions(graphtest.PermUserReadAll)
		_, err := e.src.Check(context.Background())
		require.ErrorIs(t, err, adsync.ErrUnauthorized)
		assert.Contains(t, err.Error(), "GroupMember.Read.All")
	})
	t.Run("throttled past the retries", func(t *testing.T) {
		e := newEnv(t, nil)
		e.srv.InjectFault(graphtest.Fault{Status: 429, RetryAfter: "0"})
		_, err := e.src.Check(context.Background())
		require.ErrorIs(t, err, adsync.ErrRateLimited)
	})
}
