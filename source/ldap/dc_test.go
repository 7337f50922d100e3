package ldap_test

// Helpers for the tests that run against a real Samba AD DC, started by
// ./scripts/test.sh (scripts/services/samba.sh) or ./scripts/samba/run.sh.
// Each test works in an OU of its own, removed at the end, so tests are
// independent and can run again on the same DC.

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"os"
	"testing"
	"unicode/utf16"

	"github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	adldap "github.com/psasync/adsync/source/ldap"
)

// dcEnv is the DC the service script started.
type dcEnv struct {
	URL, BindDN, Password, BaseDN, CA string
	Realm                             string
}

// needDC returns the DC's settings, or skips the test (fails it under
// ADSYNC_REQUIRE_SERVICES=1) when none is configured.
func needDC(tb testing.TB) dcEnv {
	tb.Helper()
	e := dcEnv{
		URL: os.Getenv("ADSYNC_LDAP_URL"), BindDN: os.Getenv("ADSYNC_LDAP_BIND_DN"),
		Password: os.Getenv("ADSYNC_LDAP_PASSWORD"), BaseDN: os.Getenv("ADSYNC_LDAP_BASE_DN"),
		CA: os.Getenv("ADSYNC_LDAP_CA"), Realm: os.Getenv("ADSYNC_LDAP_REALM"),
	}
	if e.URL == "" || e.BindDN == "" || e.Password == "" || e.BaseDN == "" || e.CA == "" {
		msg := "no Samba AD DC: ADSYNC_LDAP_URL, _BIND_DN, _PASSWORD, _BASE_DN and _CA are not all set; run ./scripts/test.sh, or ./scripts/samba/run.sh go test ./source/ldap/..."
		if os.Getenv("ADSYNC_REQUIRE_SERVICES") == "1" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	if e.Realm == "" {
		e.Realm = "example.invalid"
	}
	return e
}

// config is a working configuration for the DC: LDAPS with Samba's CA in
// chain-only mode (its certificate has no subjectAltName), scoped to base.
func (e dcEnv) config(base string) adldap.Config {
	return adldap.Config{
		URL: e.URL, BindName: e.BindDN, Password: adsync.NewSecret(e.Password),
		TLS:    adldap.TLSConfig{CA: e.CA, Verify: adldap.VerifyChainOnly},
		BaseDN: base,
	}
}

// dc is an admin connection used to build test data (never by the Source).
type dc struct {
	tb   testing.TB
	env  dcEnv
	conn *ldap.Conn
}

func connectDC(tb testing.TB) *dc {
	tb.Helper()
	e := needDC(tb)
	conn, err := ldap.DialURL(e.URL, ldap.DialWithTLSConfig(&tls.Config{InsecureSkipVerify: true})) //nolint:gosec // test data setup only
	require.NoError(tb, err)
	require.NoError(tb, conn.Bind(e.BindDN, e.Password))
	tb.Cleanup(func() { conn.Close() })
	return &dc{tb: tb, env: e, conn: conn}
}

func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newOU creates an OU for the test under parent ("" = the base DN) and
// removes it with everything below when the test ends.
func (d *dc) newOU(name, parent string) string {
	d.tb.Helper()
	top := parent == ""
	if top {
		parent = d.env.BaseDN
		name = name + "-" + randomSuffix()
	}
	dn := "OU=" + ldap.EscapeDN(name) + "," + parent
	req := ldap.NewAddRequest(dn, nil)
	req.Attribute("objectClass", []string{"organizationalUnit"})
	require.NoError(d.tb, d.conn.Add(req), "add %s", dn)
	if top {
		d.tb.Cleanup(func() {
			err := d.conn.Del(ldap.NewDelRequest(dn, []ldap.Control{ldap.NewControlSubtreeDelete()}))
			if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
				d.tb.Errorf("remove test OU %s: %v", dn, err)
			}
		})
	}
	return dn
}

// person is a test user's attributes; empty ones are not set.
type person struct {
	CN, Given, Sn, Initials, Middle, Mail, UPN, Title, Phone, Mobile, Street, City, State, Zip, Country, Office string
	Disabled                                                                                                    bool
	Password                                                                                                    string // sets unicodePwd (LDAPS only)
}

// addUser creates a user in ou and returns its DN.
func (d *dc) addUser(ou string, p person) string {
	d.tb.Helper()
	dn := "CN=" + ldap.EscapeDN(p.CN) + "," + ou
	sam := "t" + randomSuffix()
	req := ldap.NewAddRequest(dn, nil)
	req.Attribute("objectClass", []string{"user"})
	req.Attribute("sAMAccountName", []string{sam})
	uac := "544" // NORMAL_ACCOUNT | PASSWD_NOTREQD: enabled without a password
	if p.Disabled {
		uac = "514"
	}
	if p.Password != "" {
		uac = "512"
		if p.Disabled {
			uac = "514"
		}
		req.Attribute("unicodePwd", []string{unicodePwd(p.Password)})
	}
	req.Attribute("userAccountControl", []string{uac})
	for _, a := range []struct{ name, v string }{
		{"givenName", p.Given}, {"sn", p.Sn}, {"initials", p.Initials}, {"middleName", p.Middle},
		{"mail", p.Mail}, {"userPrincipalName", p.UPN}, {"title", p.Title}, {"telephoneNumber", p.Phone},
		{"mobile", p.Mobile}, {"streetAddress", p.Street}, {"l", p.City}, {"st", p.State},
		{"postalCode", p.Zip}, {"c", p.Country}, {"physicalDeliveryOfficeName", p.Office},
	} {
		if a.v != "" {
			req.Attribute(a.name, []string{a.v})
		}
	}
	require.NoError(d.tb, d.conn.Add(req), "add user %s", dn)
	return dn
}

// unicodePwd encodes a password as AD wants it: quoted, UTF-16LE.
func unicodePwd(pw string) string {
	u := utf16.Encode([]rune(`"` + pw + `"`))
	b := make([]byte, 2*len(u))
	for i, r := range u {
		b[2*i], b[2*i+1] = byte(r), byte(r>>8)
	}
	return string(b)
}

// addGroup creates a global security group with the given member DNs.
func (d *dc) addGroup(ou, name string, members ...string) string {
	d.tb.Helper()
	dn := "CN=" + ldap.EscapeDN(name) + "," + ou
	req := ldap.NewAddRequest(dn, nil)
	req.Attribute("objectClass", []string{"group"})
	req.Attribute("sAMAccountName", []string{"g" + randomSuffix()})
	if len(members) > 0 {
		req.Attribute("member", members)
	}
	require.NoError(d.tb, d.conn.Add(req), "add group %s", dn)
	return dn
}

// modify replaces attributes of dn.
func (d *dc) modify(dn string, attrs map[string]string) {
	d.tb.Helper()
	req := ldap.NewModifyRequest(dn, nil)
	for a, v := range attrs {
		req.Replace(a, []string{v})
	}
	require.NoError(d.tb, d.conn.Modify(req), "modify %s", dn)
}

func (d *dc) setMembers(group string, add, del []string) {
	d.tb.Helper()
	req := ldap.NewModifyRequest(group, nil)
	if len(add) > 0 {
		req.Add("member", add)
	}
	if len(del) > 0 {
		req.Delete("member", del)
	}
	require.NoError(d.tb, d.conn.Modify(req), "change members of %s", group)
}

// guidOf returns the canonical objectGUID of dn, read by the admin
// connection.
func (d *dc) guidOf(dn string) string {
	d.tb.Helper()
	res, err := d.conn.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", []string{"objectGUID"}, nil))
	require.NoError(d.tb, err)
	require.Len(d.tb, res.Entries, 1)
	return adldap.GUIDString(res.Entries[0].GetRawAttributeValue("objectGUID"))
}

// dnOfGUID looks an object up by the <GUID=…> form, which AD and Samba
// parse themselves: an independent check of GUIDString's byte order.
func (d *dc) dnOfGUID(guid string) string {
	d.tb.Helper()
	res, err := d.conn.Search(ldap.NewSearchRequest(fmt.Sprintf("<GUID=%s>", guid), ldap.ScopeBaseObject,
		ldap.NeverDerefAliases, 1, 0, false, "(objectClass=*)", []string{"cn"}, nil))
	require.NoError(d.tb, err)
	require.Len(d.tb, res.Entries, 1)
	return res.Entries[0].DN
}
