package ldap_test

import (
	"context"
	"os"
	"testing"

	"github.com/psasync/adsync"
	adldap "github.com/psasync/adsync/source/ldap"
)

// BenchmarkReadSeeded reads the seeded OU (5,000 users by default, every
// attribute of the field map) with LDAP pages of 500: connect, TLS, bind,
// paged search, conversion. scripts/samba/bench.sh compares it with
// OpenLDAP's `ldapsearch -E pr=500/noprompt` on the same DC
// (BENCHMARKS.md, "source/ldap").
func BenchmarkReadSeeded(b *testing.B) {
	e := needDC(b)
	ou := os.Getenv("ADSYNC_LDAP_SEED_OU")
	if ou == "" {
		b.Skip("needs the seeded OU (ADSYNC_LDAP_SEED_OU); run ./scripts/samba/run.sh ./scripts/samba/bench.sh")
	}
	cfg := e.config(ou)
	cfg.PageSize = 500
	src, err := adldap.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for b.Loop() {
		n = 0
		if err := src.Users(context.Background(), func(p []adsync.User) error { n += len(p); return nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n), "users/op")
}
