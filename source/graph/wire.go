package graph

import (
	"bytes"
	"encoding/json"
	"strings"
)

// The member and delta pages are decoded here with encoding/json into plain
// structs rather than through the SDK's models: building a models.User per
// member (a backing store, a map of additional data, a pointer per
// property) cost about 43 µs and 25 KB per user, most of a large group's
// read (issue #14). The SDK still authenticates, retries, builds the
// requests and maps error bodies; only a successful page's body is read
// here.

// wirePage is one page of a user collection: members cast to users, or
// users/delta.
type wirePage struct {
	Value     []wireUser `json:"value"`
	NextLink  string     `json:"@odata.nextLink"`
	DeltaLink string     `json:"@odata.deltaLink"`
}

// rawPage is a page whose users are decoded one by one, when the mapping
// reads a property wireUser does not have (a directory extension).
type rawPage struct {
	Value     []json.RawMessage `json:"value"`
	NextLink  string            `json:"@odata.nextLink"`
	DeltaLink string            `json:"@odata.deltaLink"`
}

// wireUser holds the user properties the SDK's model has getters for and a
// mapping may read; encoding/json matches their names without regard to
// case, as Graph does. A property absent from the page or null is blank.
type wireUser struct {
	ID                       string   `json:"id"`
	UserPrincipalName        string   `json:"userPrincipalName"`
	DisplayName              string   `json:"displayName"`
	AccountEnabled           *bool    `json:"accountEnabled"`
	GivenName                string   `json:"givenName"`
	Surname                  string   `json:"surname"`
	Mail                     string   `json:"mail"`
	OtherMails               []string `json:"otherMails"`
	ProxyAddresses           []string `json:"proxyAddresses"`
	JobTitle                 string   `json:"jobTitle"`
	BusinessPhones           []string `json:"businessPhones"`
	MobilePhone              string   `json:"mobilePhone"`
	FaxNumber                string   `json:"faxNumber"`
	StreetAddress            string   `json:"streetAddress"`
	City                     string   `json:"city"`
	State                    string   `json:"state"`
	PostalCode               string   `json:"postalCode"`
	Country                  string   `json:"country"`
	UsageLocation            string   `json:"usageLocation"`
	OfficeLocation           string   `json:"officeLocation"`
	CompanyName              string   `json:"companyName"`
	Department               string   `json:"department"`
	EmployeeID               string   `json:"employeeId"`
	EmployeeType             string   `json:"employeeType"`
	MailNickname             string   `json:"mailNickname"`
	PreferredLanguage        string   `json:"preferredLanguage"`
	OnPremisesImmutableID    string   `json:"onPremisesImmutableId"`
	OnPremisesSamAccountName string   `json:"onPremisesSamAccountName"`
	// Removed is a users/delta entry's "@removed" object: set, even to
	// null, for a user deleted or out of scope (docs/directories.md §A4).
	Removed json.RawMessage `json:"@removed"`

	// extra holds the page's other properties of this user, filled only
	// when the mapping reads one (rawPage); numbers keep their text.
	extra map[string]any
}

// getter reads one property of a decoded user, untrimmed.
type getter func(*wireUser) string

// getters are the properties wireUser holds, by lower-case Graph name. A
// collection gives its first non-blank value, proxyAddresses its primary
// SMTP address.
var getters = map[string]getter{
	"id":                       func(u *wireUser) string { return u.ID },
	"userprincipalname":        func(u *wireUser) string { return u.UserPrincipalName },
	"displayname":              func(u *wireUser) string { return u.DisplayName },
	"givenname":                func(u *wireUser) string { return u.GivenName },
	"surname":                  func(u *wireUser) string { return u.Surname },
	"mail":                     func(u *wireUser) string { return u.Mail },
	"othermails":               func(u *wireUser) string { return first(u.OtherMails) },
	"proxyaddresses":           func(u *wireUser) string { return primarySMTP(u.ProxyAddresses) },
	"jobtitle":                 func(u *wireUser) string { return u.JobTitle },
	"businessphones":           func(u *wireUser) string { return first(u.BusinessPhones) },
	"mobilephone":              func(u *wireUser) string { return u.MobilePhone },
	"faxnumber":                func(u *wireUser) string { return u.FaxNumber },
	"streetaddress":            func(u *wireUser) string { return u.StreetAddress },
	"city":                     func(u *wireUser) string { return u.City },
	"state":                    func(u *wireUser) string { return u.State },
	"postalcode":               func(u *wireUser) string { return u.PostalCode },
	"country":                  func(u *wireUser) string { return u.Country },
	"usagelocation":            func(u *wireUser) string { return u.UsageLocation },
	"officelocation":           func(u *wireUser) string { return u.OfficeLocation },
	"companyname":              func(u *wireUser) string { return u.CompanyName },
	"department":               func(u *wireUser) string { return u.Department },
	"employeeid":               func(u *wireUser) string { return u.EmployeeID },
	"employeetype":             func(u *wireUser) string { return u.EmployeeType },
	"mailnickname":             func(u *wireUser) string { return u.MailNickname },
	"preferredlanguage":        func(u *wireUser) string { return u.PreferredLanguage },
	"onpremisesimmutableid":    func(u *wireUser) string { return u.OnPremisesImmutableID },
	"onpremisessamaccountname": func(u *wireUser) string { return u.OnPremisesSamAccountName },
}

// getterFor returns the getter of a property by its Graph name, and
// whether wireUser holds it; for any other name (a directory extension) it
// reads extra.
func getterFor(name string) (getter, bool) {
	if g, ok := getters[strings.ToLower(name)]; ok {
		return g, true
	}
	return func(u *wireUser) string { return additional(u.extra, name) }, false
}

// pageDecoder decodes member and delta pages for one mapping, reusing its
// slice of users from page to page.
type pageDecoder struct {
	extras bool // the mapping reads a property wireUser lacks
	page   wirePage
	raw    rawPage
}

// decode parses a page's body. The users it returns are valid until the
// next call.
func (d *pageDecoder) decode(body []byte) (*wirePage, error) {
	// Reused elements must start blank: encoding/json leaves a property
	// absent from this page's user as the previous page's user had it.
	clear(d.page.Value[:cap(d.page.Value)])
	d.page = wirePage{Value: d.page.Value[:0]}
	if !d.extras {
		if err := json.Unmarshal(body, &d.page); err != nil {
			return nil, err
		}
		return &d.page, nil
	}
	d.raw = rawPage{Value: d.raw.Value[:0]}
	if err := json.Unmarshal(body, &d.raw); err != nil {
		return nil, err
	}
	d.page.NextLink, d.page.DeltaLink = d.raw.NextLink, d.raw.DeltaLink
	for _, r := range d.raw.Value {
		var u wireUser
		if err := json.Unmarshal(r, &u); err != nil {
			return nil, err
		}
		if !bytes.Equal(r, []byte("null")) {
			dec := json.NewDecoder(bytes.NewReader(r))
			dec.UseNumber()
			if err := dec.Decode(&u.extra); err != nil {
				return nil, err
			}
		}
		d.page.Value = append(d.page.Value, u)
	}
	return &d.page, nil
}
