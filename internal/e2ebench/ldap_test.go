package e2ebench

import (
	"os"
	"testing"

	"github.com/psasync/adsync"
	adldap "github.com/psasync/adsync/source/ldap"
)

// BenchmarkEndToEndLDAP is the end-to-end benchmark with the LDAP source
// reading the Samba AD DC's seeded OU (ADSYNC_LDAP_* as exported by
// scripts/services/samba.sh; ADSYNC_LDAP_SEED_OU, ADSYNC_LDAP_SEED_USERS
// users from scripts/samba/seed-ldif.sh). The DC is shared and its seed is
// read by other tests, so the benchmark does not write to it: it makes a
// first run (every enabled user created with the billing product) and a
// run without change, no daily run.
func BenchmarkEndToEndLDAP(b *testing.B) {
	env := map[string]string{}
	for _, k := range []string{"ADSYNC_LDAP_URL", "ADSYNC_LDAP_BIND_DN", "ADSYNC_LDAP_PASSWORD", "ADSYNC_LDAP_CA", "ADSYNC_LDAP_SEED_OU"} {
		if env[k] = os.Getenv(k); env[k] == "" {
			b.Skipf("no seeded Samba AD DC: %s is not set (source the services' environment, or run ./scripts/samba/run.sh)", k)
		}
	}
	ldapSource := func(b *testing.B, _ answer) (adsync.DirectorySource, adsync.DirectoryType) {
		src, err := adldap.New(adldap.Config{URL: env["ADSYNC_LDAP_URL"], BindName: env["ADSYNC_LDAP_BIND_DN"],
			Password: adsync.NewSecret(env["ADSYNC_LDAP_PASSWORD"]), BaseDN: env["ADSYNC_LDAP_SEED_OU"], PageSize: 500,
			TLS: adldap.TLSConfig{CA: env["ADSYNC_LDAP_CA"], Verify: adldap.VerifyChainOnly}})
		if err != nil {
			b.Fatal(err)
		}
		return src, adsync.DirectoryLDAP
	}
	first, steady, _ := latencies(b)
	e := newEnv(b, 0, 0, ldapSource)
	done := map[string]result{}
	for _, name := range []string{"first", "nochange"} {
		b.Run(name, func(b *testing.B) {
			r, ok := done[name]
			if !ok {
				lat := steady
				if name == "first" {
					lat = first
				}
				r = e.run(b, lat)
				done[name] = r
			}
			report(b, name, r.run.Counts.Read, r)
		})
	}
}
