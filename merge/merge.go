package merge

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/psasync/adsync"
)

// ErrMissingName is wrapped by the error of Create for a user whose first
// or last name is blank: Autotask requires both (R-FIELD-5).
var ErrMissingName = errors.New("missing first or last name")

// Rules are the default field rules of one run; see the package
// documentation.
type Rules struct {
	selected  adsync.FieldSet
	countries bool              // a country list was given
	byCode    map[string]string // upper-case alpha-2 code → countryID
	byName    map[string]string // normalized name → countryID
}

var (
	_ adsync.FieldRules  = (*Rules)(nil)
	_ adsync.FieldPolicy = New
)

// always are the fields written whatever the selection (R-FIELD-2).
var always = adsync.NewFieldSet(adsync.FirstName, adsync.LastName, adsync.Email)

// New returns the field rules for p: the selected fields plus first name,
// last name and email (R-FIELD-2), and the country lookup of p.Countries
// (R-FIELD-6), built once here. It returns a *adsync.ConfigError when
// p.Selected holds bits that are no field or a country has no positive id.
// When two countries share a code or a name, the first one wins.
func New(p adsync.FieldParams) (adsync.FieldRules, error) {
	if extra := p.Selected &^ adsync.AllFieldSet; extra != 0 {
		return nil, &adsync.ConfigError{Field: "FieldParams.Selected",
			Problem: "holds bits that are no contact field (0x" + strconv.FormatUint(uint64(extra), 16) + ")"}
	}
	r := &Rules{selected: p.Selected | always}
	if len(p.Countries) == 0 {
		return r, nil
	}
	r.countries = true
	r.byCode = make(map[string]string, len(p.Countries))
	r.byName = make(map[string]string, len(p.Countries))
	for i, c := range p.Countries {
		if c.ID <= 0 {
			return nil, &adsync.ConfigError{Field: "FieldParams.Countries[" + strconv.Itoa(i) + "].ID",
				Problem: "country " + strconv.Quote(c.Name) + " has id " + strconv.FormatInt(c.ID, 10) + "; Autotask's country ids are positive"}
		}
		id := strconv.FormatInt(c.ID, 10)
		if code := strings.ToUpper(strings.TrimSpace(c.Code)); code != "" {
			if _, dup := r.byCode[code]; !dup {
				r.byCode[code] = id
			}
		}
		if name := string(appendCountryKey(nil, c.Name)); name != "" {
			if _, dup := r.byName[name]; !dup {
				r.byName[name] = id
			}
		}
	}
	return r, nil
}

// Update returns the partial update that brings c in line with u, and the
// warnings of the fields it cut (R-FIELD-4) or could not resolve
// (R-FIELD-6). It allocates only for warnings.
func (r *Rules) Update(u *adsync.User, c *adsync.Contact) (adsync.ContactUpdate, []adsync.Warning) {
	up := adsync.ContactUpdate{ContactID: c.ID, CompanyID: c.CompanyID}
	var warns []adsync.Warning
	for f := adsync.Field(0); f < adsync.NumFields; f++ {
		// Most fields of most users are unchanged: equal raw values that
		// need no cut are equal trimmed values, whatever the selection.
		if raw := u.Values[f]; raw == c.Values[f] && len(raw) <= f.MaxLen() {
			continue
		}
		v, w, ok := r.value(u, f)
		if !ok || v == strings.TrimSpace(c.Values[f]) {
			if w.Rule == "R-FIELD-6" {
				warns = append(warns, w) // nothing is written: warn until it is fixed
			}
			continue
		}
		up.Fields |= 1 << f
		up.Values[f] = v
		if w.Rule != "" {
			warns = append(warns, w)
		}
	}
	return up, warns
}

// Create returns the values of a new contact for u: the selected, non-blank
// fields, cut to length and the country resolved. It returns an error
// wrapping ErrMissingName when the first or last name is blank (R-FIELD-5).
func (r *Rules) Create(u *adsync.User) (adsync.Values, []adsync.Warning, error) {
	if err := missingName(u); err != nil {
		return adsync.Values{}, nil, err
	}
	var vals adsync.Values
	var warns []adsync.Warning
	for f := adsync.Field(0); f < adsync.NumFields; f++ {
		v, w, ok := r.value(u, f)
		if ok {
			vals[f] = v
		}
		if w.Rule != "" {
			warns = append(warns, w)
		}
	}
	return vals, warns, nil
}

func missingName(u *adsync.User) error {
	first := strings.TrimSpace(u.Values[adsync.FirstName]) == ""
	last := strings.TrimSpace(u.Values[adsync.LastName]) == ""
	var what string
	switch {
	case first && last:
		what = "the first name (givenName) and the last name (sn / surname) are blank"
	case first:
		what = "the first name (givenName) is blank"
	case last:
		what = "the last name (sn / surname) is blank"
	default:
		return nil
	}
	return fmt.Errorf("%w: %s; Autotask requires both a first and a last name, "+
		"so no contact is created for this user (R-FIELD-5). Fill in the name in the directory", ErrMissingName, what)
}

// value returns the value of field f to write for u: trimmed, cut to
// Autotask's maximum, the country resolved to its id. ok is false when
// nothing is to be written: the field is not selected, the value is blank
// (R-FIELD-1), or the country is unknown or there is no country list. w is
// a warning, or the zero Warning.
func (r *Rules) value(u *adsync.User, f adsync.Field) (v string, w adsync.Warning, ok bool) {
	if !r.selected.Has(f) {
		return "", w, false
	}
	v = strings.TrimSpace(u.Values[f])
	if v == "" {
		return "", w, false
	}
	if f == adsync.CountryID {
		if !r.countries {
			return "", w, false
		}
		id, found := r.country(v)
		if !found {
			return "", adsync.Warning{UserID: u.ID, Field: f.String(), Rule: "R-FIELD-6",
				Message: "country " + strconv.Quote(v) + " is neither an ISO 3166 alpha-2 code nor a country name in Autotask's list; " +
					"countryID is left as it is. Fix the user's country in the directory (LDAP c, Graph usageLocation or country)"}, false
		}
		return id, w, true
	}
	limit := f.MaxLen()
	if len(v) <= limit { // bytes ≥ runes: the common case needs no count
		return v, w, true
	}
	n := utf8.RuneCountInString(v)
	if n <= limit {
		return v, w, true
	}
	cut, left := v, limit
	for i := range v {
		if left == 0 {
			cut = v[:i]
			break
		}
		left--
	}
	cut = strings.TrimSpace(cut)
	return cut, adsync.Warning{UserID: u.ID, Field: f.String(), Rule: "R-FIELD-4",
		Message: f.String() + " is " + strconv.Itoa(n) + " characters long, more than Autotask's maximum of " +
			strconv.Itoa(f.MaxLen()) + ": cut to " + strconv.Quote(cut)}, true
}

// country resolves an ISO alpha-2 code or a country name to the countryID,
// without allocating for codes and ASCII names.
func (r *Rules) country(v string) (string, bool) {
	if len(v) == 2 {
		var code [2]byte
		for i := range code {
			c := v[i]
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			code[i] = c
		}
		if id, ok := r.byCode[string(code[:])]; ok {
			return id, true
		}
	}
	var buf [64]byte
	id, ok := r.byName[string(appendCountryKey(buf[:0], v))]
	return id, ok
}

// appendCountryKey appends the comparison key of a country name: letters
// and digits only, lower case, diacritics dropped, so "Côte d’Ivoire"
// matches "cote d'ivoire" and "UNITED-STATES" matches "United States".
func appendCountryKey(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			for _, r := range norm.NFKD.String(s) {
				if unicode.IsLetter(r) || unicode.IsDigit(r) {
					dst = utf8.AppendRune(dst, unicode.ToLower(r))
				}
			}
			return dst
		}
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
			dst = append(dst, c)
		case 'A' <= c && c <= 'Z':
			dst = append(dst, c+'a'-'A')
		}
	}
	return dst
}
