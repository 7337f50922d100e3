package ldap_test

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	adldap "github.com/psasync/adsync/source/ldap"
)

func readSince(t *testing.T, src *adldap.Source, cursor string) ([]string, string, error) {
	t.Helper()
	var got []string
	next, err := src.UsersSince(context.Background(), cursor, func(p []adsync.User) error {
		require.LessOrEqual(t, len(p), adsync.MaxPageSize)
		for _, u := range p {
			if u.Enabled {
				got = append(got, u.Name)
			} else {
				got = append(got, u.Name+" (disabled)")
			}
		}
		return nil
	})
	sort.Strings(got)
	return got, next, err
}

// uSNChanged reads (docs/directories.md B7): exactly the users changed since
// the last read, and cursors that cannot be used are refused.
func TestUsersSince(t *testing.T) {
	d := connectDC(t)
	ou := d.newOU("usn", "")
	var dns []string
	for _, n := range []string{"u1", "u2", "u3", "u4", "u5"} {
		dns = append(dns, d.addUser(ou, person{CN: n, Given: n, Sn: "Usn"}))
	}
	cfg := d.env.config(ou)
	cfg.PageSize = 2
	src := newSource(t, cfg)

	all, c1, err := readSince(t, src, "")
	require.NoError(t, err)
	assert.Equal(t, []string{"u1", "u2", "u3", "u4", "u5"}, all, "an empty cursor reads in full")
	require.NotEmpty(t, c1)

	none, c2, err := readSince(t, src, c1)
	require.NoError(t, err)
	assert.Empty(t, none, "nothing changed")

	d.modify(dns[1], map[string]string{"title": "changed"})
	d.modify(dns[3], map[string]string{"telephoneNumber": "+1 555 0100"})
	d.addUser(ou, person{CN: "u6", Given: "u6", Sn: "Usn"})
	d.modify(dns[4], map[string]string{"userAccountControl": "514"})
	changed, c3, err := readSince(t, src, c2)
	require.NoError(t, err)
	assert.Equal(t, []string{"u2", "u4", "u5 (disabled)", "u6"}, changed,
		"R-SCOPE-8 a user disabled since the cursor is delivered with Enabled=false")

	again, _, err := readSince(t, src, c3)
	require.NoError(t, err)
	assert.Empty(t, again, "a change is read once")

	t.Run("the cursor from before the changes still reads them", func(t *testing.T) {
		got, _, err := readSince(t, src, c2)
		require.NoError(t, err)
		assert.Equal(t, []string{"u2", "u4", "u5 (disabled)", "u6"}, got)
	})

	for _, tc := range []struct{ name, cursor, errHas string }{
		{"unparsable cursor", "not-a-cursor", "not an LDAP uSNChanged cursor"},
		{"another DC", replaceField(c3, 1, "dc2.adsync.test"), "per DC"},
		{"DC restored from a backup (new invocationId)", replaceField(c3, 2, "00000000-0000-0000-0000-000000000000"), "invocationId"},
		{"USN ahead of the DC", replaceField(c3, 3, "999999999"), "ahead"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, next, err := readSince(t, src, tc.cursor)
			require.ErrorIs(t, err, adsync.ErrCursorExpired)
			assert.Contains(t, err.Error(), tc.errHas)
			assert.Empty(t, next)
		})
	}
	t.Run("a changed scope", func(t *testing.T) {
		cfg.Filter = "(title=changed)"
		_, _, err := readSince(t, newSource(t, cfg), c3)
		require.ErrorIs(t, err, adsync.ErrCursorExpired)
		assert.Contains(t, err.Error(), "scope")
	})
}

func replaceField(cursor string, i int, v string) string {
	f := strings.Split(cursor, " ")
	f[i] = v
	return strings.Join(f, " ")
}
