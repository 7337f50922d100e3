package graph

import (
	"encoding/json"
	"fmt"
	"strings"

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

// mapping is a resolved field map: the property of each field, how to read
// it from a decoded user, and the $select list that fetches them.
type mapping struct {
	props   [adsync.NumFields]string // "" = no property
	get     [adsync.NumFields]getter // nil = no property
	country getter
	line2   bool // AddressLine2 is line 2 of props[AddressLine]
	countr  bool // CountryID falls back to country
	extras  bool // some property is not one wireUser holds
	sel     []string
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
	for f, p := range m.props {
		if p != "" {
			g, known := getterFor(p)
			m.get[f], m.extras = g, m.extras || !known
		}
	}
	m.country, _ = getterFor("country")
	seen := map[string]bool{}
	add := func(p string) {
		if p != "" && !seen[strings.ToLower(p)] {
			seen[strings.ToLower(p)] = true
			m.sel = append(m.sel, p)
		}
	}
	// onPremisesImmutableId anchors a user synced from AD across a move
	// between the directories (R-LINK-6).
	for _, p := range []string{"id", "userPrincipalName", "displayName", "accountEnabled", "onPremisesImmutableId"} {
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

// toUser maps a decoded Graph user onto an adsync.User; ok is false for an
// entry without an id (a JSON null in the page). An absent or null
// property is a blank value (docs/directories.md §A2). A null accountEnabled
// counts as enabled: Graph always returns it when selected, so null means
// the property could not be read, and treating that as "disabled" would
// deactivate contacts over a permission problem.
func (m *mapping) toUser(g *wireUser) (u adsync.User, ok bool) {
	if g.ID == "" {
		return adsync.User{}, false
	}
	u = adsync.User{
		ID:      g.ID,
		UPN:     strings.TrimSpace(g.UserPrincipalName),
		Name:    strings.TrimSpace(g.DisplayName),
		Enabled: g.AccountEnabled == nil || *g.AccountEnabled,
		Anchor:  adsync.AnchorFromImmutableID(g.OnPremisesImmutableID),
	}
	for f, get := range m.get {
		if get != nil {
			u.Values[f] = strings.TrimSpace(get(g))
		}
	}
	// A single line is already trimmed and has no second line: only a
	// multi-line street address is split.
	if street := u.Values[adsync.AddressLine]; strings.ContainsAny(street, "\r\n") {
		lines := splitLines(street)
		u.Values[adsync.AddressLine] = lines[0]
		if m.line2 {
			u.Values[adsync.AddressLine2] = strings.Join(lines[1:], ", ")
		}
	}
	if u.Values[adsync.CountryID] == "" && m.countr {
		u.Values[adsync.CountryID] = strings.TrimSpace(m.country(g))
	}
	if c := u.Values[adsync.CountryID]; len(c) == 2 {
		u.Values[adsync.CountryID] = strings.ToUpper(c) // usageLocation is an ISO 3166 alpha-2 code
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

// additional reads a property wireUser does not hold (a directory
// extension) from the user's other properties, ignoring case as Graph does.
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
	case json.Number:
		return string(x)
	case []any:
		for _, e := range x {
			if s := strings.TrimSpace(scalar(e)); s != "" {
				return s
			}
		}
		return ""
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
