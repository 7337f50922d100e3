// Package graphconfig registers the azure directory kind (Entra ID through
// Microsoft Graph) with the config package. Import it for its side effect
// in a program that loads configurations with azure organizations:
//
//	import _ "github.com/psasync/adsync/source/graph/graphconfig"
//
// It is a package of its own so that a program reading only LDAP
// organizations does not compile the Graph SDK, the way a database/sql
// program compiles only the drivers it imports.
package graphconfig

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"time"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/config"
	"github.com/psasync/adsync/source/graph"
)

func init() {
	config.RegisterDirectory("azure", config.DirectoryKind{Type: adsync.DirectoryAzure, Title: "Entra ID",
		Settings: func() any { return new(azureYAML) }, Build: build})
}

// azureYAML is an organization's azure section.
type azureYAML struct {
	TenantID                string `yaml:"tenantId"`
	ClientID                string `yaml:"clientId"`
	ClientSecret            string `yaml:"clientSecret"` // refused: inline secret
	ClientSecretEnv         string `yaml:"clientSecretEnv"`
	ClientSecretFile        string `yaml:"clientSecretFile"`
	CertificateFile         string `yaml:"certificateFile"`
	CertificatePasswordEnv  string `yaml:"certificatePasswordEnv"`
	CertificatePasswordFile string `yaml:"certificatePasswordFile"`
	Cloud                   string `yaml:"cloud"`
	GroupID                 string `yaml:"groupId"`
	DirectMembersOnly       bool   `yaml:"directMembersOnly"`
	BaseURL                 string `yaml:"baseUrl"`
	AuthorityHost           string `yaml:"authorityHost"`
	MaxRetries              int    `yaml:"maxRetries"`
	// CAFile is a PEM file of CA certificates trusted besides the
	// system's, for a TLS-inspecting proxy (or the demo's emulator).
	CAFile string `yaml:"caFile"`
}

// Directory is an organization's Entra ID directory.
type Directory struct {
	// Config is the source's configuration, secrets resolved (it redacts
	// them when printed).
	Config graph.Config
	// Roots, when set, are the CAs the source trusts (caFile: the
	// system's and the file's).
	Roots *x509.CertPool
}

// Source returns the Graph source.
func (d *Directory) Source(o config.SourceOptions) (adsync.DirectorySource, error) {
	c := d.Config
	c.Logger = o.Logger
	switch {
	case o.HTTPClient != nil:
		c.HTTPClient = o.HTTPClient
	case d.Roots != nil:
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = &tls.Config{RootCAs: d.Roots, MinVersion: tls.VersionTLS12}
		c.HTTPClient = &http.Client{Transport: t, Timeout: 60 * time.Second}
	}
	return graph.New(c)
}

func build(s *config.Section, settings any) (config.Directory, error) {
	y := settings.(*azureYAML)
	oc := s.Org()
	for _, u := range []struct{ key, value string }{{"baseUrl", y.BaseURL}, {"authorityHost", y.AuthorityHost}} {
		if err := s.SecureURL(u.key, u.value, "the sign-in secret and the directory's data"); err != nil {
			return nil, err
		}
	}
	secret, err := s.Secret("clientSecret", y.ClientSecret, y.ClientSecretEnv, y.ClientSecretFile, false)
	if err != nil {
		return nil, err
	}
	var cert []byte
	switch {
	case y.CertificateFile != "" && s.OrgsOnly():
		// Not read: the command does not connect. The placeholder
		// secret stands for the credential in the checks below.
		secret = "unread certificate"
	case y.CertificateFile != "":
		if cert, err = s.ReadFile("certificateFile", y.CertificateFile); err != nil {
			return nil, err
		}
	}
	certPW, err := s.Secret("certificatePassword", "", y.CertificatePasswordEnv, y.CertificatePasswordFile, false)
	if err != nil {
		return nil, err
	}
	if secret == "" && cert == nil {
		return nil, s.Errorf("clientSecretEnv", "required: clientSecretEnv: VARIABLE or clientSecretFile: PATH (the secret's value from Certificates & secrets), or certificateFile")
	}
	c := graph.Config{TenantID: y.TenantID, ClientID: y.ClientID, ClientSecret: adsync.NewSecret(secret), Certificate: cert,
		CertificatePassword: adsync.NewSecret(certPW), Cloud: graph.Cloud(y.Cloud), GroupID: y.GroupID, DirectMembersOnly: y.DirectMembersOnly,
		BaseURL: y.BaseURL, AuthorityHost: y.AuthorityHost, MaxRetries: y.MaxRetries, Properties: oc.SourceOverrides()}
	if err := c.Validate(); err != nil {
		return nil, s.ConfigError(err, map[string]string{"clientSecret": "clientSecretEnv", "certificate": "certificateFile",
			"properties": "fields"})
	}
	d := &Directory{Config: c}
	if y.CAFile != "" && !s.OrgsOnly() {
		pem, err := s.ReadFile("caFile", y.CAFile)
		if err != nil {
			return nil, err
		}
		if d.Roots, err = x509.SystemCertPool(); err != nil {
			d.Roots = x509.NewCertPool()
		}
		if !d.Roots.AppendCertsFromPEM(pem) {
			return nil, s.Errorf("caFile", "%s holds no PEM certificate", s.Path(y.CAFile))
		}
	}
	return d, nil
}
