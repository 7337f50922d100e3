package adsync

import (
	"fmt"
	"math/bits"
	"strings"
)

// Field is one Autotask contact field that the sync can write. Its String
// form is the Autotask REST field name (camelCase), which is also the name
// used in configuration files.
//
// Field is a small integer so that a contact's values fit in a fixed array
// (see Values): at 400,000 users and as many contacts a map per record would
// cost several times the memory.
type Field uint8

// The contact fields of the default field map (docs/rules.md §5).
const (
	FirstName      Field = iota // firstName, required by Autotask (R-FIELD-5)
	LastName                    // lastName, required by Autotask (R-FIELD-5)
	MiddleInitial               // middleInitial
	Email                       // emailAddress, the primary email (R-MATCH-8)
	Title                       // title
	Phone                       // phone
	MobilePhone                 // mobilePhone
	Fax                         // faxNumber
	AlternatePhone              // alternatePhone
	AddressLine                 // addressLine ("Address 1")
	AddressLine2                // addressLine1 ("Address 2": Autotask's naming)
	City                        // city
	State                       // state
	ZipCode                     // zipCode
	CountryID                   // countryID: the directory gives an ISO code or a name (R-FIELD-6)
	RoomNumber                  // roomNumber

	// NumFields is the number of fields; Fields are 0 ≤ f < NumFields.
	NumFields = iota
)

var fieldInfo = [NumFields]struct {
	name   string
	maxLen int
}{
	FirstName:      {"firstName", 50},
	LastName:       {"lastName", 50},
	MiddleInitial:  {"middleInitial", 50},
	Email:          {"emailAddress", 254},
	Title:          {"title", 50},
	Phone:          {"phone", 25},
	MobilePhone:    {"mobilePhone", 25},
	Fax:            {"faxNumber", 25},
	AlternatePhone: {"alternatePhone", 32},
	AddressLine:    {"addressLine", 128},
	AddressLine2:   {"addressLine1", 128},
	City:           {"city", 32},
	State:          {"state", 40},
	ZipCode:        {"zipCode", 16},
	CountryID:      {"countryID", 0},
	RoomNumber:     {"roomNumber", 50},
}

// String returns the Autotask REST name of the field, for example "emailAddress".
func (f Field) String() string {
	if !f.Valid() {
		return fmt.Sprintf("Field(%d)", uint8(f))
	}
	return fieldInfo[f].name
}

// Valid reports whether f is one of the defined fields.
func (f Field) Valid() bool { return f < NumFields }

// MaxLen is Autotask's maximum length of the field in runes, or 0 when the
// field is not free text (countryID).
func (f Field) MaxLen() int {
	if !f.Valid() {
		return 0
	}
	return fieldInfo[f].maxLen
}

// Required reports whether Autotask requires the field on every contact
// (firstName and lastName). Required fields are always selected (R-FIELD-2).
func (f Field) Required() bool { return f == FirstName || f == LastName }

// MarshalText encodes the field as its Autotask name.
func (f Field) MarshalText() ([]byte, error) {
	if !f.Valid() {
		return nil, fmt.Errorf("adsync: invalid field %d", uint8(f))
	}
	return []byte(f.String()), nil
}

// UnmarshalText decodes an Autotask field name, case-insensitively.
func (f *Field) UnmarshalText(b []byte) error {
	v, err := ParseField(string(b))
	if err != nil {
		return err
	}
	*f = v
	return nil
}

// ParseField returns the field whose Autotask name is name, compared
// case-insensitively ("EmailAddress" and "emailaddress" both give Email).
func ParseField(name string) (Field, error) {
	for f := Field(0); f < NumFields; f++ {
		if strings.EqualFold(fieldInfo[f].name, strings.TrimSpace(name)) {
			return f, nil
		}
	}
	return 0, fmt.Errorf("adsync: unknown contact field %q (known: %s)", name, strings.Join(fieldNames(AllFields()), ", "))
}

// AllFields returns every field in their canonical order.
func AllFields() []Field {
	fs := make([]Field, NumFields)
	for i := range fs {
		fs[i] = Field(i)
	}
	return fs
}

func fieldNames(fs []Field) []string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.String()
	}
	return names
}

// Values holds one value per field, indexed by Field. An empty string is a
// blank value: on the directory side it never overwrites Autotask (R-FIELD-1).
// For CountryID the directory side holds an ISO 3166 alpha-2 code or a country
// name, and the Autotask side holds the numeric countryID as a decimal string.
type Values [NumFields]string

// Get returns the value of f, or "" for an invalid field.
func (v *Values) Get(f Field) string {
	if !f.Valid() {
		return ""
	}
	return v[f]
}

// Set sets the value of f. It panics on an invalid field, as an index out of
// range would.
func (v *Values) Set(f Field, s string) { v[f] = s }

// FieldSet is a set of fields, one bit per field.
type FieldSet uint32

// NewFieldSet returns the set of the given fields.
func NewFieldSet(fs ...Field) FieldSet {
	var s FieldSet
	for _, f := range fs {
		s = s.With(f)
	}
	return s
}

// AllFieldSet is the set of every field.
const AllFieldSet FieldSet = 1<<NumFields - 1

// Has reports whether f is in the set.
func (s FieldSet) Has(f Field) bool { return f.Valid() && s&(1<<f) != 0 }

// With returns the set with f added.
func (s FieldSet) With(f Field) FieldSet {
	if !f.Valid() {
		return s
	}
	return s | 1<<f
}

// Len returns the number of fields in the set.
func (s FieldSet) Len() int { return bits.OnesCount64(uint64(s & AllFieldSet)) }

// Fields returns the fields of the set in canonical order.
func (s FieldSet) Fields() []Field {
	var fs []Field
	for f := Field(0); f < NumFields; f++ {
		if s.Has(f) {
			fs = append(fs, f)
		}
	}
	return fs
}

// String lists the Autotask names of the fields, comma-separated.
func (s FieldSet) String() string { return strings.Join(fieldNames(s.Fields()), ",") }
