package graphtest

import "strings"

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
	// Disabled is sent as accountEnabled=false; the zero value is an
	// enabled account.
	Disabled bool
	// Extra holds further properties by their Graph name (for example a
	// directory extension "extension_<app>_costCenter"). Values must
	// marshal to JSON.
	Extra map[string]any
}

// properties returns every property of the user by Graph name, as JSON
// values.
func (u *User) properties() map[string]any {
	str := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	list := func(l []string) any {
		if l == nil {
			return []string{}
		}
		return l
	}
	p := map[string]any{
		"id":                u.ID,
		"displayName":       str(u.DisplayName),
		"givenName":         str(u.GivenName),
		"surname":           str(u.Surname),
		"mail":              str(u.Mail),
		"userPrincipalName": str(u.UserPrincipalName),
		"otherMails":        list(u.OtherMails),
		"proxyAddresses":    list(u.ProxyAddresses),
		"jobTitle":          str(u.JobTitle),
		"businessPhones":    list(u.BusinessPhones),
		"mobilePhone":       str(u.MobilePhone),
		"faxNumber":         str(u.FaxNumber),
		"streetAddress":     str(u.StreetAddress),
		"city":              str(u.City),
		"state":             str(u.State),
		"postalCode":        str(u.PostalCode),
		"country":           str(u.Country),
		"usageLocation":     str(u.UsageLocation),
		"officeLocation":    str(u.OfficeLocation),
		"companyName":       str(u.CompanyName),
		"department":        str(u.Department),
		"employeeId":        str(u.EmployeeID),
		"accountEnabled":    !u.Disabled,
		// Properties a real tenant has that the emulator does not model.
		"preferredLanguage":        nil,
		"onPremisesImmutableId":    nil,
		"mailNickname":             nil,
		"employeeType":             nil,
		"onPremisesSamAccountName": nil,
	}
	for k, v := range u.Extra {
		p[k] = v
	}
	return p
}

// knownProperties are the lower-case names of the properties every user
// has.
var knownProperties = func() map[string]bool {
	m := map[string]bool{}
	for k := range (&User{}).properties() {
		m[strings.ToLower(k)] = true
	}
	return m
}()

// defaultUserProperties are those Graph returns without $select.
var defaultUserProperties = []string{
	"businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
	"officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id",
}

// project returns the JSON object of a user restricted to sel (nil: the
// default set), with its @odata.type when typed is set. Names in sel must
// have been checked with unknownProperty; a name the user lacks is left out.
func (u *User) project(sel []string, typed bool) map[string]any {
	all := u.properties()
	if sel == nil {
		sel = defaultUserProperties
	}
	out := make(map[string]any, len(sel)+2)
	for _, name := range sel {
		if key, ok := lookupFold(all, name); ok {
			out[key] = all[key]
		}
	}
	out["id"] = u.ID // Graph always returns the id.
	if typed {
		out["@odata.type"] = "#microsoft.graph.user"
	}
	return out
}

// limited is what Graph returns for a member the app may not read
// (directory.md §A1): the id and the type, nothing else.
func (u *User) limited() map[string]any {
	return map[string]any{"@odata.type": "#microsoft.graph.user", "id": u.ID}
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

func (o *object) json() map[string]any {
	return map[string]any{"@odata.type": o.odataType, "id": o.id, "displayName": o.displayName}
}
