package ldap_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"

	"github.com/psasync/adsync"
	adldap "github.com/psasync/adsync/source/ldap"
)

// Reading the members of a group (nested membership counts) from a DC
// whose certificate has no subjectAltName, as Samba's and many older AD
// certificates do: verify the chain against the domain's CA only.
func Example() {
	src, err := adldap.New(adldap.Config{
		URL:      "ldaps://dc1.corp.example",
		BindName: "svc-adsync@corp.example",
		Password: adsync.NewSecret(os.Getenv("ADSYNC_LDAP_PASSWORD")),
		TLS:      adldap.TLSConfig{CA: "/etc/adsync/corp-ca.pem", Verify: adldap.VerifyChainOnly},
		BaseDN:   "DC=corp,DC=example",
		GroupDN:  "CN=PSA Contacts,OU=Groups,DC=corp,DC=example",
		Logger:   slog.Default(),
	})
	if err != nil {
		log.Fatal(err) // names the bad setting, e.g. "invalid configuration: groupDN: ..."
	}
	ctx := context.Background()
	st, err := src.Check(ctx)
	if err != nil {
		log.Fatalf("check: %v (TLS %s)", err, st.TLS)
	}
	fmt.Println("connected:", st.Detail, "certificate expires", st.CertExpiry)
	err = src.Users(ctx, func(page []adsync.User) error {
		for _, u := range page {
			fmt.Println(u.ID, u.Label(), u.Values[adsync.Email])
		}
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
}

// Incremental reads: keep the cursor between runs; when it can no longer be
// used (another DC answered, the DC was restored), read in full.
func ExampleSource_UsersSince() {
	src, err := adldap.New(adldap.Config{
		URL: "ldaps://dc1.corp.example", BindName: `CORP\svc-adsync`, Password: adsync.NewSecret(os.Getenv("LDAP_PASSWORD")),
		TLS: adldap.TLSConfig{CA: "/etc/adsync/corp-ca.pem"}, BaseDN: "OU=Staff,DC=corp,DC=example",
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	handle := func(page []adsync.User) error { return nil }
	cursor := "" // loaded from the last run
	next, err := src.UsersSince(ctx, cursor, handle)
	if errors.Is(err, adsync.ErrCursorExpired) {
		next, err = src.UsersSince(ctx, "", handle)
	}
	if err != nil {
		log.Fatal(err)
	}
	_ = next // store for the next run
}

// Validate checks a configuration before any connection and names the bad
// field.
func ExampleConfig_Validate() {
	cfg := adldap.Config{
		URL: "ldaps://dc1.corp.example", BindName: "svc-adsync@corp.example", Password: adsync.NewSecret("…"),
		BaseDN: "DC=corp,DC=example", Filter: "(&(department=Sales)",
	}
	fmt.Println(cfg.Validate())
	cfg.Filter, cfg.URL = "(department=Sales)", "ldap://dc1.corp.example"
	fmt.Println(cfg.Validate())
	// Output:
	// invalid configuration: filter: "(&(department=Sales)" is not a valid LDAP filter: unexpected end of filter
	// invalid configuration: url: "ldap://dc1.corp.example" is plain LDAP: the password and user data would travel unencrypted; use ldaps://dc1.corp.example or set startTLS (allowPlaintext exists for tests only)
}

// An organization's configuration selects attribute overrides, which the
// source applies. Its EmailFromUPN and IncludeDisabled are the Syncer's to
// apply: the source delivers every user with the UPN and Enabled set.
func ExampleConfig_fromOrgConfig() {
	org := adsync.OrgConfig{
		ID: "acme", CompanyID: 42, Directory: adsync.DirectoryLDAP, EmailFromUPN: true,
		Fields: []adsync.FieldSpec{{Field: adsync.MiddleInitial, Source: "middleName"}},
	}
	cfg := adldap.Config{
		URL: "ldaps://dc1.corp.example", BindName: "svc-adsync@corp.example", Password: adsync.NewSecret("…"),
		BaseDN: "DC=corp,DC=example", Attributes: org.SourceOverrides(),
	}
	fmt.Println(cfg.Validate(), cfg.Attributes[adsync.MiddleInitial])
	// Output: <nil> middleName
}
