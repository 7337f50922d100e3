package ldap_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/psasync/adsync"
	adldap "github.com/psasync/adsync/source/ldap"
	"github.com/psasync/adsync/source/sourcetest"
)

// The DirectorySource conformance suite against the Samba DC, twice: scope
// by nested group membership (leaving scope = leaving the group), and scope
// by OU with disabled accounts included (leaving scope = moving out).
func TestConformance(t *testing.T) {
	for _, byGroup := range []bool{true, false} {
		name := "scope by group"
		if !byGroup {
			name = "scope by OU, disabled included"
		}
		t.Run(name, func(t *testing.T) {
			sourcetest.Run(t, func(t *testing.T) sourcetest.Harness {
				return newHarness(t, byGroup)
			})
		})
	}
}

// harness is a fresh OU per subtest: users are created in OU=in; the
// scope is either a group there (nested: users join through an inner
// group) or OU=in itself.
type harness struct {
	d       *dc
	byGroup bool
	in, out string // OUs
	inner   string // group the users are added to
	outer   string // group in scope, holding inner
	dns     map[string]string
}

func newHarness(t *testing.T, byGroup bool) *harness {
	d := connectDC(t)
	root := d.newOU("conformance", "")
	h := &harness{d: d, byGroup: byGroup, in: d.newOU("in", root), out: d.newOU("out", root), dns: map[string]string{}}
	if byGroup {
		h.inner = d.addGroup(root, "inner")
		h.outer = d.addGroup(root, "outer", h.inner)
	}
	return h
}

func (h *harness) Source(ctx context.Context) (adsync.DirectorySource, error) {
	cfg := h.d.env.config(h.in)
	cfg.PageSize = 250 // LDAP pages that do not line up with the 500-user pages
	if h.byGroup {
		cfg.BaseDN = strings.SplitN(h.in, ",", 2)[1]
		cfg.GroupDN = h.outer
	}
	return adldap.New(cfg)
}

func (h *harness) Fields() adsync.FieldSet { return adsync.AllFieldSet }

var attrOf = adldap.DefaultAttributes()

func (h *harness) AddUsers(ctx context.Context, users []adsync.User) ([]string, error) {
	var ids, dns []string
	for _, u := range users {
		cn := strings.TrimSpace(u.Values[adsync.FirstName]+" "+u.Values[adsync.LastName]) + " " + randomSuffix()
		dn := "CN=" + ldap.EscapeDN(cn) + "," + h.in
		req := ldap.NewAddRequest(dn, nil)
		req.Attribute("objectClass", []string{"user"})
		req.Attribute("sAMAccountName", []string{"c" + randomSuffix()})
		uac := "544"
		if !u.Enabled {
			uac = "514"
		}
		req.Attribute("userAccountControl", []string{uac})
		if u.UPN != "" {
			req.Attribute("userPrincipalName", []string{u.UPN})
		}
		for a, v := range attributes(adsync.AllFieldSet, u.Values) {
			if len(v) > 0 {
				req.Attribute(a, v)
			}
		}
		if err := h.d.conn.Add(req); err != nil {
			return nil, fmt.Errorf("add %s: %w", dn, err)
		}
		dns = append(dns, dn)
		id := h.d.guidOf(dn)
		h.dns[id] = dn
		ids = append(ids, id)
	}
	if h.byGroup {
		for i := 0; i < len(dns); i += 500 {
			mod := ldap.NewModifyRequest(h.inner, nil)
			mod.Add("member", dns[i:min(i+500, len(dns))])
			if err := h.d.conn.Modify(mod); err != nil {
				return nil, fmt.Errorf("add members: %w", err)
			}
		}
	}
	return ids, nil
}

// attributes maps values of the fields in fs onto LDAP attributes, the two
// address lines into one streetAddress. An empty list clears the attribute.
func attributes(fs adsync.FieldSet, v adsync.Values) map[string][]string {
	m := map[string][]string{}
	for _, f := range fs.Fields() {
		if f == adsync.AddressLine || f == adsync.AddressLine2 {
			continue
		}
		m[attrOf[f]] = nonEmpty(v[f])
	}
	if fs.Has(adsync.AddressLine) || fs.Has(adsync.AddressLine2) {
		m["streetAddress"] = nonEmpty(strings.TrimSpace(v[adsync.AddressLine] + "\r\n" + v[adsync.AddressLine2]))
	}
	return m
}

func nonEmpty(s string) []string {
	if s == "" {
		return []string{}
	}
	return []string{s}
}

func (h *harness) UpdateUser(ctx context.Context, id string, fs adsync.FieldSet, v adsync.Values) error {
	dn := h.dns[id]
	if fs.Has(adsync.AddressLine) != fs.Has(adsync.AddressLine2) {
		return fmt.Errorf("harness: update both address lines or neither")
	}
	mod := ldap.NewModifyRequest(dn, nil)
	for a, vals := range attributes(fs, v) {
		mod.Replace(a, vals)
	}
	if err := h.d.conn.Modify(mod); err != nil {
		return fmt.Errorf("modify %s: %w", dn, err)
	}
	if fs.Has(adsync.FirstName) || fs.Has(adsync.LastName) {
		// A rename in AD changes the DN as well: the id must not change.
		cn := strings.TrimSpace(v[adsync.FirstName]+" "+v[adsync.LastName]) + " " + randomSuffix()
		rdn := "CN=" + ldap.EscapeDN(cn)
		if err := h.d.conn.ModifyDN(ldap.NewModifyDNRequest(dn, rdn, true, "")); err != nil {
			return fmt.Errorf("rename %s: %w", dn, err)
		}
		h.dns[id] = rdn + "," + h.in
	}
	return nil
}

func (h *harness) RemoveFromScope(ctx context.Context, id string) error {
	dn := h.dns[id]
	if h.byGroup {
		mod := ldap.NewModifyRequest(h.inner, nil)
		mod.Delete("member", []string{dn})
		return h.d.conn.Modify(mod)
	}
	rdn := strings.SplitN(dn, ",", 2)[0]
	if err := h.d.conn.ModifyDN(ldap.NewModifyDNRequest(dn, rdn, true, h.out)); err != nil {
		return err
	}
	h.dns[id] = rdn + "," + h.out
	return nil
}

func (h *harness) SetEnabled(ctx context.Context, id string, enabled bool) error {
	uac := "514"
	if enabled {
		uac = "544"
	}
	mod := ldap.NewModifyRequest(h.dns[id], nil)
	mod.Replace("userAccountControl", []string{uac})
	return h.d.conn.Modify(mod)
}
