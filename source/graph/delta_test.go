package graph_test

import (
	"context"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/source/graph"
	"github.com/psasync/adsync/source/graph/graphtest"
)

func readSince(t testing.TB, src *graph.Source, cursor string) ([]adsync.User, string, error) {
	t.Helper()
	var out []adsync.User
	next, err := src.UsersSince(context.Background(), cursor, func(p []adsync.User) error {
		require.NotEmpty(t, p)
		require.LessOrEqual(t, len(p), adsync.MaxPageSize)
		out = append(out, p...)
		return nil
	})
	return out, next, err
}

func TestDelta(t *testing.T) {
	e := newEnv(t, nil)
	e.srv.SetDeltaPageSize(7) // several delta pages
	members := e.addUsers(30, "Delta")
	outsider := e.srv.PutUser(graphtest.User{UserPrincipalName: "out@contoso.example", DisplayName: "Outsider"})

	full, cursor, err := readSince(t, e.src, "")
	require.NoError(t, err)
	assert.ElementsMatch(t, members, ids(full), "a full read with cursor \"\"")
	require.NotEmpty(t, cursor)

	t.Run("no change reads nothing", func(t *testing.T) {
		got, next, err := readSince(t, e.src, cursor)
		require.NoError(t, err)
		assert.Empty(t, got)
		assert.NotEmpty(t, next)
	})

	for i := 0; i < 20; i++ {
		e.srv.UpdateUser(members[i], func(u *graphtest.User) { u.JobTitle = "Changed" })
	}
	e.srv.UpdateUser(outsider, func(u *graphtest.User) { u.JobTitle = "Changed" })
	e.srv.DeleteUser(members[29])
	e.srv.UpdateUser(members[28], func(u *graphtest.User) { u.Disabled = true })

	got, next, err := readSince(t, e.src, cursor)
	require.NoError(t, err)
	assert.ElementsMatch(t, append(members[:20:20], members[28]), ids(got),
		"changed members only: not the outsider, not the deleted; the disabled one with Enabled=false (R-SCOPE-8)")
	for _, u := range got {
		assert.Equal(t, u.ID != members[28], u.Enabled)
		if u.ID != members[28] {
			assert.Equal(t, "Changed", u.Values[adsync.Title])
		}
		assert.NotEmpty(t, u.UPN, "every selected property comes back")
	}
	assert.NotEqual(t, cursor, next)

	t.Run("the next cursor starts after those changes", func(t *testing.T) {
		e.srv.UpdateUser(members[5], func(u *graphtest.User) { u.City = "Leeds" })
		got, _, err := readSince(t, e.src, next)
		require.NoError(t, err)
		require.Len(t, got, 1)
		assert.Equal(t, "Leeds", got[0].Values[adsync.City])
	})
	t.Run("changes made during the full read are not lost", func(t *testing.T) {
		var c string
		first := true
		c, err := e.src.UsersSince(context.Background(), "", func([]adsync.User) error {
			if first {
				e.srv.UpdateUser(members[3], func(u *graphtest.User) { u.City = "York" })
				first = false
			}
			return nil
		})
		require.NoError(t, err)
		got, _, err := readSince(t, e.src, c)
		require.NoError(t, err)
		assert.Contains(t, ids(got), members[3])
	})
	t.Run("R-SCOPE-8 disabled members delivered disabled", func(t *testing.T) {
		got, _, err := readSince(t, e.src, cursor)
		require.NoError(t, err)
		i := slices.IndexFunc(got, func(u adsync.User) bool { return u.ID == members[28] })
		require.GreaterOrEqual(t, i, 0)
		assert.False(t, got[i].Enabled)
	})
}

func TestDeltaExpiry(t *testing.T) {
	for _, status := range []int{410, 400} {
		t.Run(map[int]string{410: "410 Gone", 400: "400 syncStateNotFound"}[status], func(t *testing.T) {
			e := newEnv(t, nil)
			e.addUsers(3, "Exp")
			_, cursor, err := readSince(t, e.src, "")
			require.NoError(t, err)
			e.srv.ExpireDeltaTokens(status)
			_, _, err = readSince(t, e.src, cursor)
			require.ErrorIs(t, err, adsync.ErrCursorExpired)
			assert.Contains(t, err.Error(), "full read")

			got, fresh, err := readSince(t, e.src, "")
			require.NoError(t, err, "falling back to a full read works")
			assert.Len(t, got, 3)
			_, _, err = readSince(t, e.src, fresh)
			require.NoError(t, err, "and gives a usable cursor")
		})
	}
	t.Run("a cursor of another Graph is refused", func(t *testing.T) {
		e := newEnv(t, nil)
		_, _, err := readSince(t, e.src, "https://attacker.example/v1.0/users/delta()?$deltatoken=1")
		require.ErrorIs(t, err, adsync.ErrCursorExpired)
		assert.Zero(t, e.srv.CountRequests(""), "never followed")
	})
	t.Run("throttling during delta", func(t *testing.T) {
		e := newEnv(t, func(c *graph.Config) { c.MaxRetries = 1 })
		e.addUsers(3, "Exp")
		_, cursor, err := readSince(t, e.src, "")
		require.NoError(t, err)
		e.srv.InjectFault(graphtest.Fault{Path: "/users/delta", Status: 429, RetryAfter: "0"})
		_, _, err = readSince(t, e.src, cursor)
		require.ErrorIs(t, err, adsync.ErrRateLimited)
	})
}

func TestDeltaReplaysAndRepeats(t *testing.T) {
	e := newEnv(t, nil)
	e.srv.SetDeltaReplays(true)
	e.srv.SetDeltaPageSize(2) // the repeats fall on different pages
	members := e.addUsers(4, "Rep")
	_, cursor, err := readSince(t, e.src, "")
	require.NoError(t, err)

	for _, city := range []string{"Bath", "Bristol", "Cardiff"} {
		e.srv.UpdateUser(members[0], func(u *graphtest.User) { u.City = city })
	}
	e.srv.UpdateUser(members[1], func(u *graphtest.User) { u.City = "Gone" })
	e.srv.DeleteUser(members[1])
	got, _, err := readSince(t, e.src, cursor)
	require.NoError(t, err)
	require.Len(t, got, 1, "each user once; the deleted one not at all")
	assert.Equal(t, members[0], got[0].ID)
	assert.Equal(t, "Cardiff", got[0].Values[adsync.City], "the last change wins")
	assert.Equal(t, 1+3, e.srv.CountRequests("/users/delta"), "$deltatoken=latest, then the 5 changes over 3 pages")
}
