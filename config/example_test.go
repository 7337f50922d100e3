package config_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/config"
	"github.com/psasync/adsync/matcher"
	"github.com/psasync/adsync/merge"
)

// Load a configuration and build a Syncer from it. A program that syncs
// Entra ID organizations also imports
// github.com/psasync/adsync/source/graph/graphconfig for its side effect.
func Example() {
	dir, _ := os.MkdirTemp("", "adsync-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "adsync.yaml")
	_ = os.WriteFile(path, []byte(`autotask:
  username: api-user@example.com
  integrationCode: CODE
  secretEnv: AUTOTASK_SECRET
orgs:
  - id: fabrikam
    companyId: 175
    ldap:
      url: ldaps://dc1.fabrikam.example:636
      bindName: svc-adsync@fabrikam.example
      passwordEnv: FABRIKAM_LDAP_PASSWORD
      baseDN: DC=fabrikam,DC=example
`), 0o600)
	env := map[string]string{"AUTOTASK_SECRET": "at-secret", "FABRIKAM_LDAP_PASSWORD": "ldap-secret"}

	ctx := context.Background()
	cfg, err := config.Load(path, &config.Options{Getenv: func(k string) string { return env[k] }})
	if err != nil {
		log.Fatal(err) // e.g. adsync.yaml:9: orgs[0].companyId: want a whole number, got 17.4
	}
	store, err := cfg.ContactStore()
	if err != nil {
		log.Fatal(err)
	}
	orgs, err := cfg.Orgs()
	if err != nil {
		log.Fatal(err)
	}
	spec, err := cfg.HistorySpec("") // store: in the file, or adsync-history.db beside it
	if err != nil {
		log.Fatal(err)
	}
	hist, err := cfg.History(ctx, spec, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer hist.Close()
	syncer, err := adsync.NewSyncer(adsync.Options{Store: store, History: hist, Matcher: matcher.New(nil), Fields: merge.New})
	if err != nil {
		log.Fatal(err)
	}
	_ = syncer // syncer.Plan(ctx, orgs[0]), syncer.Sync(ctx, orgs[0], adsync.TriggerForced)
	fmt.Println(orgs[0].Config.ID, orgs[0].Config.CompanyID, orgs[0].Config.Directory)
	// Output: fabrikam 175 ldap
}
