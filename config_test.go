package adsync_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
)

func TestOrgConfigValidate(t *testing.T) {
	valid := func() adsync.OrgConfig {
		return adsync.OrgConfig{ID: "contoso", CompanyID: 1, Enabled: true, Directory: adsync.DirectoryAzure}
	}
	cases := []struct {
		name  string
		edit  func(*adsync.OrgConfig)
		field string // "" when valid
	}{
		{"minimal configuration", func(*adsync.OrgConfig) {}, ""},
		{"R-FIELD-2 a selection with source overrides", func(c *adsync.OrgConfig) {
			c.Fields = []adsync.FieldSpec{{Field: adsync.MiddleInitial, Source: "middleName"}, {Field: adsync.Title, Source: "extension_0a1b_costCenter"}}
		}, ""},
		{"R-FIELD-2 an unknown field", func(c *adsync.OrgConfig) { c.Fields = []adsync.FieldSpec{{Field: adsync.NumFields}} }, "fields[0].field"},
		{"R-SCOPE-3 an unknown directory type", func(c *adsync.OrgConfig) { c.Directory = "novell" }, "directory"},
		{"R-SCOPE-7 the cap cannot exceed 400,000", func(c *adsync.OrgConfig) { c.MaxUsers = 500_000 }, "maxUsers"},
		{"R-DEACT-4 a negative guard minimum", func(c *adsync.OrgConfig) { c.Guard.Min = -1 }, "guard.min"},
		{"R-FIELD-7 a negative billing product", func(c *adsync.OrgConfig) { c.BillingProductID = -3 }, "billingProductId"},
		{"a negative full-read period", func(c *adsync.OrgConfig) { c.FullReadEvery = -time.Hour }, "fullReadEvery"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.edit(&c)
			err := c.Validate()
			if tc.field == "" {
				require.NoError(t, err)
				return
			}
			var ce *adsync.ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, tc.field, ce.Field)
			assert.ErrorIs(t, err, adsync.ErrInvalidConfig)
		})
	}
}

func TestOrgConfigSelection(t *testing.T) {
	c := adsync.OrgConfig{Fields: []adsync.FieldSpec{{Field: adsync.City}}}
	assert.Equal(t, adsync.NewFieldSet(adsync.FirstName, adsync.LastName, adsync.Email, adsync.City), c.Selected(),
		"R-FIELD-2 names and email are always selected")
	assert.Equal(t, adsync.AllFieldSet, (&adsync.OrgConfig{}).Selected(), "no selection selects every field")
	assert.Equal(t, 10, adsync.Guard{}.Limit(40), "R-DEACT-4 max(10, 20% of 40)")
	assert.Equal(t, 20, adsync.Guard{}.Limit(100))
	assert.Equal(t, 5, adsync.Guard{Min: 2, Percent: 5}.Limit(100))
}

func TestFieldNames(t *testing.T) {
	for _, f := range adsync.AllFields() {
		got, err := adsync.ParseField(f.String())
		require.NoError(t, err)
		assert.Equal(t, f, got)
	}
	f, err := adsync.ParseField("EMAILADDRESS")
	require.NoError(t, err)
	assert.Equal(t, adsync.Email, f)
	_, err = adsync.ParseField("pager")
	assert.ErrorContains(t, err, "unknown contact field \"pager\"")
	assert.Equal(t, "addressLine1", adsync.AddressLine2.String(), "Autotask's name for the second address line")
	assert.Equal(t, 254, adsync.Email.MaxLen())
}
