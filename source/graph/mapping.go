package graph

import (
	"fmt"
	"strings"

	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"github.com/psasync/adsync"
)

// defaultProperties is the Graph side of the default field map
// (docs/rules.md §5). Fields without a Graph property (middleInitial,
// alternatePhone) are absent. AddressLine2 is the second line of
// streetAddress and CountryID is usageLocation, else country; both are
// handled in toUser.
var defaultProperties = map[adsync.Field]string{
	adsync.FirstName:   "givenName",
	adsync.LastName:    "surname",
	adsync.Email:       "mail",
	adsync.Title:       "jobTitle",
	adsync.Phone:       "businessPhones",
	adsync.MobilePhone: "mobilePhone",
	adsync.Fax:         "faxNumber",
	adsync.AddressLine: "streetAddress",
	adsync.City:        "city",
	adsync.State:       "state",
	adsync.ZipCode:     "postalCode",
	adsync.CountryID:   "usageLocation",
	adsync.RoomNumber:  "officeLocation",
}

// mapping is a resolved field map: the property of each field and the
// $select list that fetches them.
type mapping struct {
	props  [adsync.NumFields]string // "" = no property
	line2  bool                     // AddressLine2 is line 2 of props[AddressLine]
	countr bool                     // CountryID falls back to country
	sel    []string
}

func newMapping(overrides map[adsync.Field]string) *mapping {
	m := &mapping{line2: true, countr: true}
	for f, p := range defaultProperties {
		m.props[f] = p
	}
	for f, p := range overrides {
		m.props[f] = p
		switch f {
		case adsync.AddressLine2:
			m.line2 = false
		case adsync.CountryID:
			m.countr = false
		}
	}
	seen := map[string]bool{}
	add := func(p string) {
		if p != "" && !seen[strings.ToLower(p)] {
			seen[strings.ToLower(p)] = true
			m.sel = append(m.sel, p)
		}
	}
	for _, p := range []string{"id", "userPrincipalName", "displayName", "accountEnabled"} {
		add(p)
	}
	for _, p := range m.props {
		add(p)
	}
	if m.countr {
		add("country")
	}
	return m
}

// toUser maps a Graph user onto an adsync.User. Every getter may return nil
// (docs/directories.md §A2); nil is a blank value. A nil accountEnabled counts as
// enabled: Graph always returns it when selected, so nil means the property
// could not be read, and treating that as "disabled" would deactivate
// contacts over a permission problem.
func (m *mapping) toUser(g models.Userable, emailFromUPN bool) (adsync.User, bool) {
	if u, ok := g.(*models.User); g == nil || (ok && u == nil) {
		return adsync.User{}, false
	}
	id := deref(g.GetId())
	if id == "" {
		return adsync.User{}, false
	}
	u := adsync.User{
		ID:      id,
		UPN:     strings.TrimSpace(deref(g.GetUserPrincipalName())),
		Name:    strings.TrimSpace(deref(g.GetDisplayName())),
		Enabled: true,
	}
	if e := g.GetAccountEnabled(); e != nil {
		u.Enabled = *e
	}
	for f := adsync.Field(0); f < adsync.NumFields; f++ {
		if p := m.props[f]; p != "" {
			u.Values[f] = property(g, p)
		}
	}
	if street := u.Values[adsync.AddressLine]; street != "" {
		lines := splitLines(street)
		u.Values[adsync.AddressLine] = lines[0]
		if m.line2 {
			u.Values[adsync.AddressLine2] = strings.Join(lines[1:], ", ")
		}
	}
	if u.Values[adsync.CountryID] == "" && m.countr {
		u.Values[adsync.CountryID] = property(g, "country")
	}
	if c := u.Values[adsync.CountryID]; len(c) == 2 {
		u.Values[adsync.CountryID] = strings.ToUpper(c) // usageLocation is an ISO 3166 alpha-2 code
	}
	if u.Values[adsync.Email] == "" && emailFromUPN {
		u.Values[adsync.Email] = u.UPN
	}
	return u, true
}

// splitLines splits a multi-line street address into its non-blank lines;
// it returns at least one (possibly empty) line.
func splitLines(s string) []string {
	var out []string
	for _, l := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		return []string{""}
	}
	return out
}

// property reads a user property by its Graph name: the typed getter when
// the SDK has one, else the additional data (directory extensions). A
// collection gives its first non-blank value. The result is trimmed.
func property(g models.Userable, name string) string {
	var v string
	switch strings.ToLower(name) {
	case "id":
		v = deref(g.GetId())
	case "givenname":
		v = deref(g.GetGivenName())
	case "surname":
		v = deref(g.GetSurname())
	case "displayname":
		v = deref(g.GetDisplayName())
	case "mail":
		v = deref(g.GetMail())
	case "userprincipalname":
		v = deref(g.GetUserPrincipalName())
	case "othermails":
		v = first(g.GetOtherMails())
	case "proxyaddresses":
		v = primarySMTP(g.GetProxyAddresses())
	case "jobtitle":
		v = deref(g.GetJobTitle())
	case "businessphones":
		v = first(g.GetBusinessPhones())
	case "mobilephone":
		v = deref(g.GetMobilePhone())
	case "faxnumber":
		v = deref(g.GetFaxNumber())
	case "streetaddress":
		v = deref(g.GetStreetAddress())
	case "city":
		v = deref(g.GetCity())
	case "state":
		v = deref(g.GetState())
	case "postalcode":
		v = deref(g.GetPostalCode())
	case "country":
		v = deref(g.GetCountry())
	case "usagelocation":
		v = deref(g.GetUsageLocation())
	case "officelocation":
		v = deref(g.GetOfficeLocation())
	case "companyname":
		v = deref(g.GetCompanyName())
	case "department":
		v = deref(g.GetDepartment())
	case "employeeid":
		v = deref(g.GetEmployeeId())
	case "employeetype":
		v = deref(g.GetEmployeeType())
	case "mailnickname":
		v = deref(g.GetMailNickname())
	case "preferredlanguage":
		v = deref(g.GetPreferredLanguage())
	case "onpremisesimmutableid":
		v = deref(g.GetOnPremisesImmutableId())
	case "onpremisessamaccountname":
		v = deref(g.GetOnPremisesSamAccountName())
	default:
		v = additional(g.GetAdditionalData(), name)
	}
	return strings.TrimSpace(v)
}

// additional reads a property the SDK has no getter for. The JSON parser
// stores leaves as pointers (docs/directories.md §A4).
func additional(data map[string]any, name string) string {
	var raw any
	found := false
	for k, v := range data {
		if strings.EqualFold(k, name) {
			raw, found = v, true
			break
		}
	}
	if !found {
		return ""
	}
	return scalar(raw)
}

func scalar(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case *string:
		return deref(x)
	case []any:
		for _, e := range x {
			if s := strings.TrimSpace(scalar(e)); s != "" {
				return s
			}
		}
		return ""
	case *bool:
		return ptr(x)
	case *float64:
		return ptr(x)
	case *int64:
		return ptr(x)
	case *int32:
		return ptr(x)
	}
	return fmt.Sprint(v)
}

func first(l []string) string {
	for _, s := range l {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
}

// primarySMTP returns the primary address of proxyAddresses (the one with
// the upper-case "SMTP:" prefix), else the first SMTP one.
func primarySMTP(l []string) string {
	fallback := ""
	for _, a := range l {
		if rest, ok := strings.CutPrefix(a, "SMTP:"); ok {
			return rest
		}
		if len(a) > 5 && strings.EqualFold(a[:5], "smtp:") && fallback == "" {
			fallback = a[5:]
		}
	}
	return fallback
}

func ptr[T any](p *T) string {
	if p == nil {
		return ""
	}
	return fmt.Sprint(*p)
}
