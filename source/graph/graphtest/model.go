package graphtest

import (
	"strconv"
	"strings"
)

// User is a directory user as the emulator stores it. Empty strings and nil
// slices are sent as JSON null (or [] for collections), as Graph does for
// unset properties that were selected.
type User struct {
	// ID is the object id. PutUser assigns a GUID-shaped one when empty.
	ID                string
	DisplayName       string
	GivenName         string
	Surname           string
	Mail              string
	UserPrincipalName string
	OtherMails        []string
	ProxyAddresses    []string
	JobTitle          string
	BusinessPhones    []string
	MobilePhone       string
	FaxNumber         string
	StreetAddress     string
	City              string
	State             string
	PostalCode        string
	Country           string
	UsageLocation     string
	OfficeLocation    string
	CompanyName       string
	Department        string
	EmployeeID        string
	// OnPremisesImmutableID is, for a user synced from Active Directory,
	// the base64 of its objectGUID (adsync.ImmutableIDOf); empty for a
	// cloud-only user (sent as null).
	OnPremisesImmutableID string
	// Disabled is sent as accountEnabled=false; the zero value is an
	// enabled account.
	Disabled bool
	// Extra holds further properties by their Graph name (for example a
	// directory extension "extension_<app>_costCenter"). Values must
	// marshal to JSON.
	Extra map[string]any
}

// userProperty is a property of the user resource as the emulator serves
// it: its Graph name and how to append its JSON value.
type userProperty struct {
	name  string
	value func(b []byte, u *User) []byte
}

func stringProperty(name string, get func(*User) string) userProperty {
	return userProperty{name, func(b []byte, u *User) []byte { return appendStringOrNull(b, get(u)) }}
}

func listProperty(name string, get func(*User) []string) userProperty {
	return userProperty{name, func(b []byte, u *User) []byte { return appendStrings(b, get(u)) }}
}

// nullProperty is a property a real tenant has that the emulator does not
// model: selecting it is valid and gives null.
func nullProperty(name string) userProperty {
	return userProperty{name, func(b []byte, _ *User) []byte { return append(b, "null"...) }}
}

// userProperties are the properties every user has. Empty strings are
// sent as null, nil collections as [], as Graph does for unset properties.
var userProperties = []userProperty{
	stringProperty("id", func(u *User) string { return u.ID }),
	stringProperty("displayName", func(u *User) string { return u.DisplayName }),
	stringProperty("givenName", func(u *User) string { return u.GivenName }),
	stringProperty("surname", func(u *User) string { return u.Surname }),
	stringProperty("mail", func(u *User) string { return u.Mail }),
	stringProperty("userPrincipalName", func(u *User) string { return u.UserPrincipalName }),
	listProperty("otherMails", func(u *User) []string { return u.OtherMails }),
	listProperty("proxyAddresses", func(u *User) []string { return u.ProxyAddresses }),
	stringProperty("jobTitle", func(u *User) string { return u.JobTitle }),
	listProperty("businessPhones", func(u *User) []string { return u.BusinessPhones }),
	stringProperty("mobilePhone", func(u *User) string { return u.MobilePhone }),
	stringProperty("faxNumber", func(u *User) string { return u.FaxNumber }),
	stringProperty("streetAddress", func(u *User) string { return u.StreetAddress }),
	stringProperty("city", func(u *User) string { return u.City }),
	stringProperty("state", func(u *User) string { return u.State }),
	stringProperty("postalCode", func(u *User) string { return u.PostalCode }),
	stringProperty("country", func(u *User) string { return u.Country }),
	stringProperty("usageLocation", func(u *User) string { return u.UsageLocation }),
	stringProperty("officeLocation", func(u *User) string { return u.OfficeLocation }),
	stringProperty("companyName", func(u *User) string { return u.CompanyName }),
	stringProperty("department", func(u *User) string { return u.Department }),
	stringProperty("employeeId", func(u *User) string { return u.EmployeeID }),
	{"accountEnabled", func(b []byte, u *User) []byte { return strconv.AppendBool(b, !u.Disabled) }},
	nullProperty("preferredLanguage"),
	stringProperty("onPremisesImmutableId", func(u *User) string { return u.OnPremisesImmutableID }),
	nullProperty("mailNickname"),
	nullProperty("employeeType"),
	nullProperty("onPremisesSamAccountName"),
}

// knownProperties are the user properties by lower-case name.
var knownProperties = func() map[string]*userProperty {
	m := map[string]*userProperty{}
	for i := range userProperties {
		m[strings.ToLower(userProperties[i].name)] = &userProperties[i]
	}
	return m
}()

// defaultUserProperties are those Graph returns without $select.
var defaultUserProperties = []string{
	"businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
	"officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id",
}

// selection is a $select list resolved once per request: the user
// properties it names, each once, without id (always sent), and the other
// names (directory extensions), looked up in each user's Extra.
type selection struct {
	known []*userProperty
	ext   []string
}

// resolveSelect resolves sel (nil: the default set). Names must have been
// checked with badSelect.
func resolveSelect(sel []string) selection {
	if sel == nil {
		sel = defaultUserProperties
	}
	var out selection
	seen := map[string]bool{"id": true}
	for _, name := range sel {
		lower := strings.ToLower(name)
		if seen[lower] {
			continue
		}
		seen[lower] = true
		if p, ok := knownProperties[lower]; ok {
			out.known = append(out.known, p)
		} else {
			out.ext = append(out.ext, name)
		}
	}
	return out
}

// appendJSON appends the JSON object of a user restricted to the
// selection, with its @odata.type when typed is set. An extension the user
// lacks is left out; an Extra entry named like a property replaces it.
func (u *User) appendJSON(b []byte, sel selection, typed bool) []byte {
	b = append(b, '{')
	if typed {
		b = append(b, `"@odata.type":"#microsoft.graph.user",`...)
	}
	b = append(b, `"id":`...)
	b = appendString(b, u.ID) // Graph always returns the id.
	for _, p := range sel.known {
		b = append(b, ',')
		b = appendString(b, p.name)
		b = append(b, ':')
		if v, ok := u.Extra[p.name]; ok {
			b = appendAny(b, v)
		} else {
			b = p.value(b, u)
		}
	}
	for _, name := range sel.ext {
		if key, ok := lookupFold(u.Extra, name); ok {
			b = append(b, ',')
			b = appendString(b, key)
			b = append(b, ':')
			b = appendAny(b, u.Extra[key])
		}
	}
	return append(b, '}')
}

// appendLimited appends what Graph returns for a member the app may not
// read (docs/directories.md §A1): the id and the type, nothing else.
func (u *User) appendLimited(b []byte) []byte {
	b = append(b, `{"@odata.type":"#microsoft.graph.user","id":`...)
	b = appendString(b, u.ID)
	return append(b, '}')
}

// lookupFold finds name among m's keys, ignoring case as Graph does.
func lookupFold(m map[string]any, name string) (string, bool) {
	if _, ok := m[name]; ok {
		return name, true
	}
	for k := range m {
		if strings.EqualFold(k, name) {
			return k, true
		}
	}
	return "", false
}

// object is a non-user directory object: a group, a device, an org contact
// or a service principal.
type object struct {
	id          string
	odataType   string // "#microsoft.graph.group", ...
	displayName string
	members     []string            // groups only: member ids in insertion order
	memberSet   map[string]struct{} // groups only: the same ids, to add each once in constant time
}

// appendJSON appends the object as a member listing shows it.
func (o *object) appendJSON(b []byte) []byte {
	b = append(b, `{"@odata.type":`...)
	b = appendString(b, o.odataType)
	b = append(b, `,"id":`...)
	b = appendString(b, o.id)
	b = append(b, `,"displayName":`...)
	b = appendString(b, o.displayName)
	return append(b, '}')
}
