// Command ldap embeds adsync with an on-premises Active Directory read over
// LDAPS: it syncs the enabled users under a base DN (optionally members of a
// group, nested ones included) into one Autotask company, with the history in
// a SQLite file. It prints the plan, and applies it with -apply.
//
//	export LDAP_PASSWORD=... AUTOTASK_USERNAME=... AUTOTASK_INTEGRATION_CODE=... AUTOTASK_SECRET=...
//	go run ./examples/ldap -url ldaps://dc1.corp.example -bind svc-adsync@corp.example \
//		-base DC=corp,DC=example -ca corp-ca.pem -company 174 [-group CN=...] [-apply]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"time"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/autotask"
	"github.com/psasync/adsync/history/sqlite"
	"github.com/psasync/adsync/matcher"
	"github.com/psasync/adsync/merge"
	"github.com/psasync/adsync/source/ldap"
)

// settings are what the program needs; main takes them from flags and the
// environment, the test from the Samba DC and the Autotask emulator.
type settings struct {
	LDAP      ldap.Config
	Autotask  autotask.Config
	CompanyID int64
	DB        string
	Apply     bool
}

func main() {
	s := settings{
		LDAP: ldap.Config{Password: adsync.NewSecret(os.Getenv("LDAP_PASSWORD"))},
		Autotask: autotask.Config{Username: os.Getenv("AUTOTASK_USERNAME"), IntegrationCode: os.Getenv("AUTOTASK_INTEGRATION_CODE"),
			Secret: adsync.NewSecret(os.Getenv("AUTOTASK_SECRET"))},
	}
	chainOnly := false
	flag.StringVar(&s.LDAP.URL, "url", "", "the DC: ldaps://host[:636]")
	flag.StringVar(&s.LDAP.BindName, "bind", "", "the service account: a UPN, a DN or DOMAIN\\user")
	flag.StringVar(&s.LDAP.BaseDN, "base", "", "the subtree searched, e.g. DC=corp,DC=example")
	flag.StringVar(&s.LDAP.GroupDN, "group", "", "only members of this group (nested members too)")
	flag.StringVar(&s.LDAP.TLS.CA, "ca", "", "the CA bundle that signed the DC's certificate (default: the system's)")
	flag.BoolVar(&chainOnly, "chain-only", false, "check the certificate chain but not the host name (certificates without a subjectAltName)")
	flag.Int64Var(&s.CompanyID, "company", 0, "the Autotask company id")
	flag.StringVar(&s.DB, "db", "adsync-history.db", "the SQLite history file")
	flag.BoolVar(&s.Apply, "apply", false, "apply the plan (default: print it only)")
	flag.Parse()
	if chainOnly {
		s.LDAP.TLS.Verify = ldap.VerifyChainOnly
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, s); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, w io.Writer, s settings) error {
	// New validates without connecting: a malformed filter or DN, or a
	// plain ldap:// URL, is an *adsync.ConfigError naming the setting.
	src, err := ldap.New(s.LDAP)
	if err != nil {
		return err
	}
	// Check connects, verifies TLS, binds and finds the base DN: it says
	// what to fix (an untrusted certificate, a wrong password, a locked
	// account) before the sync tries.
	st, err := src.Check(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "directory: %s, TLS %s\n", st.Detail, st.TLS)
	store, err := autotask.New(s.Autotask)
	if err != nil {
		return err
	}
	hist, err := sqlite.Open(ctx, s.DB, nil)
	if err != nil {
		return err
	}
	defer hist.Close()
	if _, err := hist.InterruptRuns(ctx, time.Now()); err != nil { // runs left by a crashed process (R-RUN-7)
		return err
	}
	syncer, err := adsync.NewSyncer(adsync.Options{Store: store, History: hist, Matcher: matcher.New(nil), Fields: merge.New})
	if err != nil {
		return err
	}
	org := adsync.Org{Source: src, Config: adsync.OrgConfig{ID: "corp", CompanyID: s.CompanyID, Enabled: true,
		Directory: adsync.DirectoryLDAP}}

	plan, err := syncer.Plan(ctx, org) // a dry run
	if err != nil {
		return err
	}
	fmt.Fprintln(w, plan.Summary())
	if !s.Apply {
		return nil
	}
	r, err := syncer.Apply(ctx, org, plan)
	if err != nil {
		return fmt.Errorf("run %d: %w", r.ID, err)
	}
	fmt.Fprintf(w, "run %d %s: %s\n", r.ID, r.Status, r.Counts)
	return nil
}
