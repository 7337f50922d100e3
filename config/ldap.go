package config

import (
	"strings"
	"time"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/source/ldap"
)

// The ldap kind (Active Directory over LDAPS) is built in: source/ldap
// compiles quickly and needs no SDK.
func init() {
	RegisterDirectory("ldap", DirectoryKind{Type: adsync.DirectoryLDAP, Title: "Active Directory over LDAPS",
		Settings: func() any { return new(ldapYAML) }, Build: buildLDAP})
}

// ldapYAML is an organization's ldap section.
type ldapYAML struct {
	URL               string        `yaml:"url"`
	StartTLS          bool          `yaml:"startTLS"`
	BindName          string        `yaml:"bindName"`
	Password          string        `yaml:"password"` // refused: inline secret
	PasswordEnv       string        `yaml:"passwordEnv"`
	PasswordFile      string        `yaml:"passwordFile"`
	BaseDN            string        `yaml:"baseDN"`
	GroupDN           string        `yaml:"groupDN"`
	DirectMembersOnly bool          `yaml:"directMembersOnly"`
	OUs               []string      `yaml:"ous"`
	Filter            string        `yaml:"filter"`
	PageSize          int           `yaml:"pageSize"`
	DialTimeout       time.Duration `yaml:"dialTimeout"`
	Timeout           time.Duration `yaml:"timeout"`
	TLS               ldapTLSYAML   `yaml:"tls"`
}

type ldapTLSYAML struct {
	CA         string `yaml:"ca"`
	ServerName string `yaml:"serverName"`
	Verify     string `yaml:"verify"`
}

// LDAP is an organization's Active Directory, read over LDAPS.
type LDAP struct {
	// Config is the source's configuration, secrets resolved (it redacts
	// them when printed).
	Config ldap.Config
}

// Source returns the LDAP source.
func (d *LDAP) Source(o SourceOptions) (adsync.DirectorySource, error) {
	c := d.Config
	c.Logger = o.Logger
	return ldap.New(c)
}

func buildLDAP(s *Section, settings any) (Directory, error) {
	y := settings.(*ldapYAML)
	oc := s.Org()
	pw, err := s.Secret("password", y.Password, y.PasswordEnv, y.PasswordFile, true)
	if err != nil {
		return nil, err
	}
	ca := y.TLS.CA
	if ca != "" && !strings.Contains(ca, "-----BEGIN") {
		ca = s.Path(ca)
	}
	c := ldap.Config{URL: y.URL, StartTLS: y.StartTLS, BindName: y.BindName, Password: adsync.NewSecret(pw),
		TLS:         ldap.TLSConfig{CA: ca, ServerName: y.TLS.ServerName, Verify: ldap.VerifyMode(y.TLS.Verify)},
		DialTimeout: y.DialTimeout, Timeout: y.Timeout, BaseDN: y.BaseDN, GroupDN: y.GroupDN,
		DirectMembersOnly: y.DirectMembersOnly, OUs: y.OUs, Filter: y.Filter, PageSize: y.PageSize,
		Attributes: oc.SourceOverrides()}
	if y.BaseDN == "" {
		return nil, s.Errorf("baseDN", "required: the subtree to search, e.g. DC=corp,DC=example")
	}
	v := c
	if s.OrgsOnly() && v.TLS.CA != "" {
		// Not read: the command does not connect. Without its CA a
		// chain-only verification would be refused, so the mode is not
		// checked either.
		v.TLS.CA, v.TLS.Verify = "", ""
	}
	if err := v.Validate(); err != nil {
		return nil, s.ConfigError(err, map[string]string{"password": "passwordEnv", "attributes": "fields"})
	}
	return &LDAP{Config: c}, nil
}
