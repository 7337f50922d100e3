package merge_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/merge"
)

var countries = []adsync.Country{
	{ID: 81, Code: "DE", Name: "Germany"},
	{ID: 225, Code: "US", Name: "United States"},
	{ID: 53, Code: "CI", Name: "Côte d’Ivoire"},
	{ID: 235, Code: "GB", Name: "United Kingdom"},
	{ID: 999, Code: "DE", Name: "Germany (duplicate entry)"}, // the first DE wins
}

func vals(kv ...any) adsync.Values {
	var v adsync.Values
	for i := 0; i < len(kv); i += 2 {
		v[kv[i].(adsync.Field)] = kv[i+1].(string)
	}
	return v
}

// base is a user and contact in agreement, to which each case adds.
func base() adsync.Values {
	return vals(adsync.FirstName, "Alice", adsync.LastName, "Jones", adsync.Email, "alice@example.com")
}

func with(v adsync.Values, kv ...any) adsync.Values {
	for i := 0; i < len(kv); i += 2 {
		v[kv[i].(adsync.Field)] = kv[i+1].(string)
	}
	return v
}

func TestUpdate(t *testing.T) {
	all := adsync.AllFieldSet
	tests := []struct {
		name      string
		selected  adsync.FieldSet
		countries []adsync.Country
		user      adsync.Values
		contact   adsync.Values
		want      adsync.Values // the fields of the update, by value
		warns     []string      // "rule field" of each warning
	}{
		{
			name:     "R-FIELD-1 blank directory value never overwrites",
			selected: all,
			user:     base(),
			contact:  with(base(), adsync.Title, "CEO", adsync.Phone, "+49 30 1234"),
		},
		{
			name:     "R-FIELD-1 whitespace-only directory value never overwrites",
			selected: all,
			user:     with(base(), adsync.Title, " \t ", adsync.FirstName, "  "),
			contact:  with(base(), adsync.Title, "CEO"),
		},
		{
			name:     "R-FIELD-1 directory values are trimmed",
			selected: all,
			user:     with(base(), adsync.Title, "  CTO\n", adsync.City, " Berlin "),
			contact:  with(base(), adsync.Title, "CEO"),
			want:     vals(adsync.Title, "CTO", adsync.City, "Berlin"),
		},
		{
			name:     "R-FIELD-5 a linked user with a blank last name still has its other fields updated",
			selected: all,
			user:     with(base(), adsync.LastName, "", adsync.Title, "CTO"),
			contact:  base(),
			want:     vals(adsync.Title, "CTO"),
		},
		{
			name:     "R-FIELD-2 only selected fields are written",
			selected: adsync.NewFieldSet(adsync.Title, adsync.FirstName, adsync.LastName, adsync.Email),
			user:     with(base(), adsync.Title, "CTO", adsync.Phone, "+1 555 0100", adsync.City, "Boston"),
			contact:  base(),
			want:     vals(adsync.Title, "CTO"),
		},
		{
			name:     "R-FIELD-2 first name, last name and email are always selected",
			selected: 0,
			user:     vals(adsync.FirstName, "Alicia", adsync.LastName, "Jones-Smith", adsync.Email, "alicia@example.com", adsync.Title, "CTO"),
			contact:  base(),
			want:     vals(adsync.FirstName, "Alicia", adsync.LastName, "Jones-Smith", adsync.Email, "alicia@example.com"),
		},
		{
			name:     "R-FIELD-3 only differing fields are in the update",
			selected: all,
			user:     with(base(), adsync.Title, "CTO", adsync.Phone, "+1 555 0100", adsync.MobilePhone, "+1 555 0199"),
			contact:  with(base(), adsync.Title, "CEO", adsync.Phone, "+1 555 0100"),
			want:     vals(adsync.Title, "CTO", adsync.MobilePhone, "+1 555 0199"),
		},
		{
			name:     "R-FIELD-3 equal values give an empty update, the contact side trimmed too",
			selected: all,
			user:     with(base(), adsync.Title, "CEO", adsync.ZipCode, "10115"),
			contact:  with(base(), adsync.Title, " CEO ", adsync.ZipCode, "10115", adsync.City, "Berlin"),
		},
		{
			name:     "R-FIELD-3 comparison is exact: a change of case is a change",
			selected: all,
			user:     with(base(), adsync.Email, "Alice@Example.com"),
			contact:  base(),
			want:     vals(adsync.Email, "Alice@Example.com"),
		},
		{
			name:     "R-FIELD-4 a long value is cut at a rune boundary and warned",
			selected: all,
			user:     with(base(), adsync.Title, strings.Repeat("é", 60)),
			contact:  base(),
			want:     vals(adsync.Title, strings.Repeat("é", 50)),
			warns:    []string{"R-FIELD-4 title"},
		},
		{
			name:     "R-FIELD-4 four-byte runes are not split",
			selected: all,
			user:     with(base(), adsync.Phone, strings.Repeat("😀", 30)),
			contact:  base(),
			want:     vals(adsync.Phone, strings.Repeat("😀", 25)),
			warns:    []string{"R-FIELD-4 phone"},
		},
		{
			name:     "R-FIELD-4 the cut value is trimmed again",
			selected: all,
			user:     with(base(), adsync.City, strings.Repeat("x", 31)+" Neustadt"),
			contact:  base(),
			want:     vals(adsync.City, strings.Repeat("x", 31)),
			warns:    []string{"R-FIELD-4 city"},
		},
		{
			name:     "R-FIELD-4 multi-byte value at exactly the maximum in runes is not cut",
			selected: all,
			user:     with(base(), adsync.City, strings.Repeat("ü", 32)),
			contact:  base(),
			want:     vals(adsync.City, strings.Repeat("ü", 32)),
		},
		{
			name:     "R-FIELD-4 a cut value the contact already holds is neither written nor warned again",
			selected: all,
			user:     with(base(), adsync.Title, strings.Repeat("漢", 70)),
			contact:  with(base(), adsync.Title, strings.Repeat("漢", 50)),
		},
		{
			name:      "R-FIELD-6 country by ISO code, any case",
			selected:  all,
			countries: countries,
			user:      with(base(), adsync.CountryID, "de"),
			contact:   base(),
			want:      vals(adsync.CountryID, "81"),
		},
		{
			name:      "R-FIELD-6 country by name, ignoring case and diacritics",
			selected:  all,
			countries: countries,
			user:      with(base(), adsync.CountryID, "cote d'ivoire"),
			contact:   with(base(), adsync.CountryID, "81"),
			want:      vals(adsync.CountryID, "53"),
		},
		{
			name:      "R-FIELD-6 country by name, punctuation and spacing ignored",
			selected:  all,
			countries: countries,
			user:      with(base(), adsync.CountryID, " UNITED-KINGDOM "),
			contact:   base(),
			want:      vals(adsync.CountryID, "235"),
		},
		{
			name:      "R-FIELD-6 country already set: no change",
			selected:  all,
			countries: countries,
			user:      with(base(), adsync.CountryID, "US"),
			contact:   with(base(), adsync.CountryID, "225"),
		},
		{
			name:      "R-FIELD-6 unknown country leaves the field alone and warns",
			selected:  all,
			countries: countries,
			user:      with(base(), adsync.CountryID, "Atlantis", adsync.Title, "CTO"),
			contact:   with(base(), adsync.CountryID, "81"),
			want:      vals(adsync.Title, "CTO"),
			warns:     []string{"R-FIELD-6 countryID"},
		},
		{
			name:      "R-FIELD-6 unknown two-letter code warns",
			selected:  all,
			countries: countries,
			user:      with(base(), adsync.CountryID, "XX"),
			contact:   base(),
			warns:     []string{"R-FIELD-6 countryID"},
		},
		{
			name:     "R-FIELD-6 no country list: the country is never written, without a warning",
			selected: all,
			user:     with(base(), adsync.CountryID, "DE"),
			contact:  base(),
		},
		{
			name:      "R-FIELD-6 country not selected: not resolved, not warned",
			selected:  adsync.NewFieldSet(adsync.Title),
			countries: countries,
			user:      with(base(), adsync.CountryID, "Atlantis"),
			contact:   base(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rules, err := merge.New(adsync.FieldParams{Selected: tt.selected, Countries: tt.countries})
			require.NoError(t, err)
			u := &adsync.User{ID: "u1", Values: tt.user}
			c := &adsync.Contact{ID: 42, CompanyID: 7, Active: true, Values: tt.contact}
			up, warns := rules.Update(u, c)
			assert.Equal(t, int64(42), up.ContactID)
			assert.Equal(t, int64(7), up.CompanyID)
			assert.Nil(t, up.Active, "activation is the Syncer's business")
			var wantSet adsync.FieldSet
			for f := range adsync.NumFields {
				if tt.want[f] != "" {
					wantSet = wantSet.With(adsync.Field(f))
				}
			}
			assert.Equal(t, wantSet.String(), up.Fields.String(), "fields of the update")
			for _, f := range up.Fields.Fields() {
				assert.Equal(t, tt.want[f], up.Values[f], "value of %s", f)
			}
			assert.Equal(t, wantSet == 0, up.Empty())
			assertWarnings(t, tt.warns, warns)
		})
	}
}

func assertWarnings(t *testing.T, want []string, got []adsync.Warning) {
	t.Helper()
	var gotKeys []string
	for _, w := range got {
		gotKeys = append(gotKeys, w.Rule+" "+w.Field)
		assert.Equal(t, "u1", w.UserID)
		assert.NotEmpty(t, w.Message)
	}
	assert.Equal(t, want, gotKeys, "warnings: %v", got)
}

func TestCreate(t *testing.T) {
	tests := []struct {
		name     string
		selected adsync.FieldSet
		user     adsync.Values
		want     adsync.Values
		warns    []string
		errLike  string // a part of the error; "" for none
	}{
		{
			name:     "R-FIELD-2 selected non-blank fields, trimmed",
			selected: adsync.NewFieldSet(adsync.Title, adsync.City, adsync.CountryID, adsync.Phone),
			user:     with(base(), adsync.Title, " CTO ", adsync.City, "Berlin", adsync.CountryID, "Germany", adsync.Phone, "  ", adsync.Fax, "+49 30 9"),
			want:     with(base(), adsync.Title, "CTO", adsync.City, "Berlin", adsync.CountryID, "81"),
		},
		{
			name:     "R-FIELD-2 first name, last name and email are written whatever the selection",
			selected: 0,
			user:     with(base(), adsync.Title, "CTO"),
			want:     base(),
		},
		{
			name:     "R-FIELD-4 long values are cut and warned on create",
			selected: adsync.AllFieldSet,
			user:     with(base(), adsync.FirstName, strings.Repeat("Ä", 51), adsync.ZipCode, "12345-6789-0123-456"),
			want:     with(base(), adsync.FirstName, strings.Repeat("Ä", 50), adsync.ZipCode, "12345-6789-0123-"),
			warns:    []string{"R-FIELD-4 firstName", "R-FIELD-4 zipCode"},
		},
		{
			name:     "R-FIELD-6 unknown country is left out and warned",
			selected: adsync.AllFieldSet,
			user:     with(base(), adsync.CountryID, "Narnia"),
			want:     base(),
			warns:    []string{"R-FIELD-6 countryID"},
		},
		{
			name:     "R-FIELD-5 blank first name cannot be created",
			selected: adsync.AllFieldSet,
			user:     with(base(), adsync.FirstName, ""),
			errLike:  "the first name (givenName) is blank",
		},
		{
			name:     "R-FIELD-5 whitespace-only last name cannot be created",
			selected: adsync.AllFieldSet,
			user:     with(base(), adsync.LastName, "  "),
			errLike:  "the last name (sn / surname) is blank",
		},
		{
			name:     "R-FIELD-5 both names blank",
			selected: adsync.AllFieldSet,
			user:     vals(adsync.Email, "x@example.com"),
			errLike:  "the first name (givenName) and the last name (sn / surname) are blank",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rules, err := merge.New(adsync.FieldParams{Selected: tt.selected, Countries: countries})
			require.NoError(t, err)
			v, warns, err := rules.Create(&adsync.User{ID: "u1", Values: tt.user})
			if tt.errLike != "" {
				require.ErrorIs(t, err, merge.ErrMissingName)
				assert.ErrorContains(t, err, tt.errLike)
				assert.ErrorContains(t, err, "Autotask requires both a first and a last name")
				assert.Equal(t, adsync.Values{}, v)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, v)
			assertWarnings(t, tt.warns, warns)
		})
	}
}

func TestNew(t *testing.T) {
	_, err := merge.New(adsync.FieldParams{Selected: adsync.AllFieldSet | 1<<30})
	require.ErrorIs(t, err, adsync.ErrInvalidConfig)
	var ce *adsync.ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "FieldParams.Selected", ce.Field)

	_, err = merge.New(adsync.FieldParams{Selected: adsync.AllFieldSet, Countries: []adsync.Country{{ID: 1, Code: "DE"}, {ID: 0, Code: "FR", Name: "France"}}})
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "FieldParams.Countries[1].ID", ce.Field)
	assert.Contains(t, ce.Problem, `"France"`)

	// The first of two countries with one code wins.
	rules, err := merge.New(adsync.FieldParams{Selected: adsync.AllFieldSet, Countries: countries})
	require.NoError(t, err)
	v, _, err := rules.Create(&adsync.User{ID: "u1", Values: with(base(), adsync.CountryID, "DE")})
	require.NoError(t, err)
	assert.Equal(t, "81", v[adsync.CountryID])
}

// Update is called for every linked user of a run: an up-to-date contact
// must cost no allocation (R-FIELD-3 on the hot path), country included.
func TestUpdateUnchangedAllocatesNothing(t *testing.T) {
	rules, err := merge.New(adsync.FieldParams{Selected: adsync.AllFieldSet, Countries: countries})
	require.NoError(t, err)
	for _, country := range []string{"DE", "Germany"} {
		u := &adsync.User{ID: "u1", Values: with(base(), adsync.Title, "CTO", adsync.CountryID, country)}
		c := &adsync.Contact{ID: 1, Values: with(base(), adsync.Title, "CTO", adsync.CountryID, "81")}
		var up adsync.ContactUpdate
		var warns []adsync.Warning
		allocs := testing.AllocsPerRun(100, func() { up, warns = rules.Update(u, c) })
		assert.Zero(t, allocs, "country %q", country)
		assert.True(t, up.Empty())
		assert.Nil(t, warns)
	}
}
