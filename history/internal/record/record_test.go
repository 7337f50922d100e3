package record

import (
	"encoding/json"
	"fmt"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
)

// The hand-written codec of Link.Written writes valid JSON that
// encoding/json reads back the same, and reads what a database's JSON type
// gives back (spaces, escapes, other key order).
func TestWrittenRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		w    map[adsync.Field]string
	}{
		{"R-LINK-1 plain values", map[adsync.Field]string{adsync.FirstName: "Ann", adsync.Email: "ann@example.test", adsync.CountryID: "237"}},
		{"unicode", map[adsync.Field]string{adsync.LastName: "Müller-Łukasz 山田 ✓", adsync.Title: "\u2028line sep"}},
		{"escapes", map[adsync.Field]string{adsync.AddressLine: "1 \"Main\" St\\\n\tSuite\r\x01\x1f", adsync.City: `C:\path`}},
		{"empty value", map[adsync.Field]string{adsync.Phone: ""}},
		{"every field", func() map[adsync.Field]string {
			m := map[adsync.Field]string{}
			for _, f := range adsync.AllFields() {
				m[f] = f.String() + " value"
			}
			return m
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := EncodeWritten(tc.w)
			require.NoError(t, err)
			var viaJSON map[string]string
			require.NoError(t, json.Unmarshal(b, &viaJSON), "EncodeWritten wrote invalid JSON: %s", b)
			require.Len(t, viaJSON, len(tc.w))
			for f, v := range tc.w {
				require.Equal(t, v, viaJSON[f.String()])
			}
			got, err := DecodeWritten(b)
			require.NoError(t, err)
			require.Equal(t, tc.w, got)

			// As PostgreSQL's jsonb prints it: ", " and ": " separators.
			spaced, err := json.MarshalIndent(viaJSON, "", " ")
			require.NoError(t, err)
			got, err = DecodeWritten(spaced)
			require.NoError(t, err)
			require.Equal(t, tc.w, got)
		})
	}
}

func TestWrittenEdgeCases(t *testing.T) {
	b, err := EncodeWritten(nil)
	require.NoError(t, err)
	require.Nil(t, b, "no values: SQL NULL")
	_, err = EncodeWritten(map[adsync.Field]string{adsync.NumFields + 3: "x"})
	require.ErrorIs(t, err, ErrInvalid)
	_, err = EncodeWritten(map[adsync.Field]string{adsync.FirstName: "a", 200: "x"})
	require.ErrorIs(t, err, ErrInvalid)
	b, err = EncodeWritten(map[adsync.Field]string{adsync.CountryID: "237", adsync.Email: "e", adsync.FirstName: "a"})
	require.NoError(t, err)
	require.Equal(t, `{"`+adsync.FirstName.String()+`":"a","`+adsync.Email.String()+`":"e","`+adsync.CountryID.String()+`":"237"}`, string(b),
		"in field order, whatever the map's")

	for _, tc := range []struct {
		in   string
		want map[adsync.Field]string
	}{
		{`{}`, nil},
		{` { "emailAddress" : "a@b" } `, map[adsync.Field]string{adsync.Email: "a@b"}},
		{`{"noLongerAField":"x","city":"Oslo"}`, map[adsync.Field]string{adsync.City: "Oslo"}},
		{`{"EmailAddress":"case"}`, map[adsync.Field]string{adsync.Email: "case"}},
		{`{"city":"a\u00e9\"b"}`, map[adsync.Field]string{adsync.City: "aé\"b"}},
	} {
		got, err := DecodeWritten([]byte(tc.in))
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.want, got, tc.in)
	}
	for _, bad := range []string{`{`, `{"city":1}`, `[]`, `{"city":"x"} trailing`, `{"city" "x"}`} {
		_, err := DecodeWritten([]byte(bad))
		require.Error(t, err, bad)
	}
}

// Links decoded with one Strings hold a value that repeats from link to
// link once, and every value as it was written, whatever the cache holds
// (many values per slot, values met once).
func TestDecodeWrittenShared(t *testing.T) {
	strs := new(Strings)
	var got []map[adsync.Field]string
	for i := range 3 * stringSlots {
		w := map[adsync.Field]string{adsync.Email: fmt.Sprintf("user%d@example.test", i), adsync.City: "Oslo",
			adsync.Title: fmt.Sprintf("Title %d", i%3)}
		b, err := EncodeWritten(w)
		require.NoError(t, err)
		d, err := DecodeWrittenShared(b, strs)
		require.NoError(t, err)
		require.Equal(t, w, d)
		got = append(got, d)
	}
	same := func(a, b string) bool { return unsafe.StringData(a) == unsafe.StringData(b) }
	for i, w := range got {
		require.True(t, same(got[0][adsync.City], w[adsync.City]), "link %d: the city held once", i)
		require.True(t, same(got[i%3][adsync.Title], w[adsync.Title]), "link %d: the title held once", i)
	}
	require.False(t, same(got[0][adsync.Email], got[1][adsync.Email]))

	d, err := DecodeWrittenShared([]byte(`{"city":"Oslo"}`), nil)
	require.NoError(t, err)
	require.Equal(t, map[adsync.Field]string{adsync.City: "Oslo"}, d, "without Strings")
}

func BenchmarkWritten(b *testing.B) {
	w := map[adsync.Field]string{adsync.FirstName: "First", adsync.LastName: "Last", adsync.Email: "user@example.test",
		adsync.Phone: "+1 555 0100", adsync.CountryID: "237"}
	enc, _ := EncodeWritten(w)
	b.Run("encode", func(b *testing.B) {
		for b.Loop() {
			_, _ = EncodeWritten(w)
		}
	})
	b.Run("decode", func(b *testing.B) {
		for b.Loop() {
			_, _ = DecodeWritten(enc)
		}
	})
}

func BenchmarkWrittenJSON(b *testing.B) {
	w := map[adsync.Field]string{adsync.FirstName: "First", adsync.LastName: "Last", adsync.Email: "user@example.test",
		adsync.Phone: "+1 555 0100", adsync.CountryID: "237"}
	enc, _ := json.Marshal(w)
	b.Run("encode", func(b *testing.B) {
		for b.Loop() {
			_, _ = json.Marshal(w)
		}
	})
	b.Run("decode", func(b *testing.B) {
		for b.Loop() {
			var m map[string]string
			_ = json.Unmarshal(enc, &m)
		}
	})
}
