package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/autotask"
	"github.com/psasync/adsync/autotask/autotasktest"
	"github.com/psasync/adsync/config"
	"github.com/psasync/adsync/console"
	"github.com/psasync/adsync/history/sqlite"
	"github.com/psasync/adsync/matcher"
	"github.com/psasync/adsync/merge"
	"github.com/psasync/adsync/source/graph"
	"github.com/psasync/adsync/source/graph/graphtest"
)

// demo runs the main job end to end on built-in emulators: no setup, no
// network. The customer is generated from a fixed seed, so every demo prints
// the same story.
func (a *app) demo(ctx context.Context, args []string) int {
	var fs flag.FlagSet
	state := fs.String("state", "", "directory of the demo's SQLite history (default: the user's cache directory/adsync)")
	users := fs.Int("users", 2000, "number of directory users to generate (100 to 400000, Autotask's limit)")
	keep := fs.String("keep", "", "keep the emulators running after the story, with a configuration and the history in this\n"+
		"directory, so that every other command can be tried against the demo's state (Ctrl-C stops them)")
	serveIt := fs.Bool("serve", false, "then leave the admin console running on the demo's state until interrupted")
	httpAddr := fs.String("http", "127.0.0.1:8080", "the admin console's address, with --serve")
	if !a.parse("demo", &fs, args, "error") {
		return a.parseCode()
	}
	if *keep != "" {
		if *state != "" && *state != *keep {
			return a.usageError("demo: give --state or --keep, not both (--keep DIR keeps the history in DIR)")
		}
		*state = *keep
	}
	if *users < 100 || *users > adsync.DefaultMaxUsers {
		return a.usageError(fmt.Sprintf("demo: --users %d: want 100 to %d", *users, adsync.DefaultMaxUsers))
	}
	if *state == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			return a.fail(&InputError{Field: "--state", Msg: fmt.Sprintf("no cache directory (%v): give one with --state DIR", err)})
		}
		*state = filepath.Join(dir, "adsync")
	}
	d := &demo{app: a, w: a.stdout, stateDir: *state, users: *users, keep: *keep != ""}
	if *serveIt {
		d.serveAddr = *httpAddr
	}
	if err := d.run(ctx); err != nil {
		return a.fail(err)
	}
	return ExitOK
}

type demo struct {
	app      *app
	w        io.Writer
	stateDir string
	users    int
	keep     bool // --keep: serve the emulators after the story
	// serveAddr, when set, is where the admin console is served once the
	// story is told.
	serveAddr string
	store     *autotask.Client

	graph   *graphtest.Server
	at      *autotasktest.Server
	company int64
	billing int64
	groups  map[string]string // name → id
	people  []demoPerson
	// suppliers are the contacts of people the directory does not have.
	suppliers []int64
	syncer    *adsync.Syncer
	hist      *sqlite.Store
	org       adsync.Org
	pr        *progress
}

type demoPerson struct {
	graphtest.User
	group string // the nested group the user is a direct member of
}

const demoOrg = "northwind"

func (d *demo) printf(format string, args ...any) { fmt.Fprintf(d.w, format, args...) }

func (d *demo) step(title string) { d.printf("\n== %s\n\n", title) }

func (d *demo) run(ctx context.Context) error {
	start := time.Now()
	if err := d.setup(ctx); err != nil {
		return err
	}
	defer d.close()

	d.printf("adsync demo: a customer's Entra ID (Microsoft Graph emulator) synced into Autotask (REST emulator),\n")
	d.printf("history in %s. Everything runs in this process; nothing leaves the machine.\n", d.hist.Path())
	d.step("1. The customer")
	d.describe()

	d.step("2. Plan the first run (a dry run: nothing is written)")
	p, err := d.syncer.Plan(ctx, d.org)
	d.pr.done()
	if err != nil {
		return fmt.Errorf("planning: %w", err)
	}
	d.showPlan(p, 2)

	d.step("3. Apply it")
	run, err := d.syncer.Apply(ctx, d.org, p)
	d.pr.done()
	if err != nil {
		return fmt.Errorf("applying: %w", err)
	}
	writeRunTimed(d.w, run, false)
	d.printf("  Autotask now has %d contacts in the company; %d new contacts got the billing product.\n",
		len(d.at.Contacts(d.company)), d.billed())
	d.printf("  The %d supplier contacts the directory does not have: %d of them untouched (active, never written to).\n",
		demoSuppliers, d.suppliersUntouched())
	d.printf("\n")
	cs, err := d.syncer.Conflicts(ctx, demoOrg)
	if err != nil {
		return err
	}
	writeConflicts(d.w, demoOrg, cs)

	d.step("4. A day later: people change in Entra ID")
	d.dayTwo()
	p, err = d.syncer.Plan(ctx, d.org)
	d.pr.done()
	if err != nil {
		return fmt.Errorf("planning: %w", err)
	}
	d.showPlan(p, 3)
	run, err = d.syncer.Apply(ctx, d.org, p)
	d.pr.done()
	if err != nil {
		return fmt.Errorf("applying: %w", err)
	}
	writeRunTimed(d.w, run, false)
	if err := d.showChanges(ctx, run.ID); err != nil {
		return err
	}

	d.step("5. Run again with no change: nothing is written")
	before := d.writeRequests()
	run, err = d.syncer.Sync(ctx, d.org, adsync.TriggerForced)
	d.pr.done()
	if err != nil {
		return fmt.Errorf("syncing: %w", err)
	}
	writeRunTimed(d.w, run, false)
	d.printf("  Autotask writes (POST/PATCH) during this run: %d\n", d.writeRequests()-before)

	d.step("6. The guard: a group emptied by mistake")
	n := d.emptyGroup("US Staff")
	d.printf("Someone removes the nested group \"US Staff\" (%d people) from the synced group.\n", n)
	run, err = d.syncer.Sync(ctx, d.org, adsync.TriggerForced)
	d.pr.done()
	if err != nil {
		return fmt.Errorf("syncing: %w", err)
	}
	writeRunTimed(d.w, run, false)
	if run.Status == adsync.StatusHeld {
		if k := n - len(run.Held); k > 0 {
			d.printf("  (%d of the %d people have a linked contact to deactivate; the other %d never got one:\n"+
				"  they are in a conflict, skipped, or new since the last run.)\n", len(run.Held), n, k)
		}
		writeHeld(d.w, demoOrg, nil, 0, run)
	}

	d.step("7. A mistake undone")
	if d.keep {
		// The kept state is the one the commands above were printed for:
		// run 4 still waits for its approval.
		d.printf("(Left out with --keep, so that run 4 still waits for the approval printed above. Approve it,\n")
		d.printf("then take the approval back with adsync undo --org %s --run RUN, the approval's run.)\n", demoOrg)
	} else if err := d.undoMistake(ctx, run.ID); err != nil {
		return err
	}
	d.printf("\nThe group is put back; the next run holds nothing and deactivates nobody:\n")
	d.restoreGroup("US Staff")
	run, err = d.syncer.Sync(ctx, d.org, adsync.TriggerForced)
	d.pr.done()
	if err != nil {
		return fmt.Errorf("syncing: %w", err)
	}
	writeRunTimed(d.w, run, false)

	d.step("8. History and status")
	runs, err := d.hist.Runs(ctx, demoOrg, adsync.KeepRuns)
	if err != nil {
		return err
	}
	writeHistory(d.w, demoOrg, runs, func(time.Time) string { return "today" })
	d.printf("\n")
	st, err := d.syncer.Status(ctx, []adsync.OrgConfig{d.org.Config})
	if err != nil {
		return err
	}
	writeStatus(d.w, st, func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return "today"
	})
	if !d.keep && d.serveAddr == "" {
		d.printf("\nDemo done. To try the commands above against this demo's state: adsync demo --keep DIR;\n")
		d.printf("to click through these results in the admin console: adsync demo --serve.\n")
		d.printf("Next: write an adsync.yaml (README.md, \"Configuration\") and run adsync check.\n")
	}
	// The time goes to stderr: stdout is the same story on every run.
	fmt.Fprintf(d.app.stderr, "adsync: demo done in %s\n", time.Since(start).Round(100*time.Millisecond))
	switch {
	case d.keep:
		return d.serveKept(ctx)
	case d.serveAddr != "":
		return d.serveConsole(ctx)
	}
	return nil
}

// serveConsole serves the admin console on the demo's state and emulators
// until ctx is cancelled (Ctrl-C).
func (d *demo) serveConsole(ctx context.Context) error {
	_, stop, bound, err := startConsole(d.serveAddr, "", "", console.Options{Syncer: d.syncer,
		Orgs: console.StaticOrgs([]adsync.Org{d.org}), Contacts: d.store, BaseContext: ctx, Logger: d.app.log}, d.app.log)
	if err != nil {
		return err
	}
	defer stop()
	d.printf("\nAdmin console: %s (on the demo's emulators; Ctrl-C stops it)\n", consoleURL(bound, false))
	<-ctx.Done()
	return nil
}

// The kept demo's app registration on the Graph emulator.
const (
	demoTenant    = "northwind.example"
	demoClient    = "5d1e4a2c-6b7f-4c3d-9e8a-1f2b3c4d5e6f"
	demoAppSecret = "demo-graph-secret"
)

// serveKept writes a configuration for the demo's emulators and history,
// then keeps the emulators running until ctx is cancelled (Ctrl-C), so that
// every command the story printed can be run as printed.
func (d *demo) serveKept(ctx context.Context) error {
	dir, err := filepath.Abs(d.stateDir)
	if err != nil {
		return err
	}
	conn, err := tls.Dial("tcp", strings.TrimPrefix(d.graph.URL(), "https://"), &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // reading the emulator's own certificate
	if err != nil {
		return fmt.Errorf("demo: reading the Graph emulator's certificate: %w", err)
	}
	cert := conn.ConnectionState().PeerCertificates[0]
	_ = conn.Close()
	cr := d.at.Credentials()
	files := map[string][]byte{
		"emulator-ca.pem": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}),
		"autotask-secret": []byte(cr.Secret + "\n"),
		"graph-secret":    []byte(demoAppSecret + "\n"),
		"adsync.yaml": fmt.Appendf(nil, `# The demo's configuration: its emulators run as long as adsync demo --keep does.
autotask:
  username: %s
  integrationCode: %s
  secretFile: autotask-secret
  zoneLookupUrl: %s
orgs:
  - id: %s
    name: Northwind Traders
    companyId: %d
    billingProductId: %d
    azure:
      tenantId: %s
      clientId: %s
      clientSecretFile: graph-secret
      groupId: %s
      baseUrl: %s
      authorityHost: %s/
      caFile: emulator-ca.pem
`, cr.Username, cr.IntegrationCode, d.at.ZoneLookupURL(), demoOrg, d.company, d.billing, demoTenant, demoClient,
			d.groups["Autotask Contacts"], d.graph.GraphURL(), d.graph.URL()),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			return fmt.Errorf("demo: writing %s: %w", name, err)
		}
	}
	cfgPath := filepath.Join(dir, "adsync.yaml")
	d.printf("\nThe emulators keep running with the demo's state, configured in %s.\n", cfgPath)
	d.printf("In another terminal, every command printed above works as printed after:\n")
	d.printf("  export ADSYNC_CONFIG=%s\n", cfgPath)
	d.printf("for example adsync status, adsync plan, adsync history --json --org %s. Ctrl-C stops the emulators.\n", demoOrg)
	<-ctx.Done()
	return nil
}

// setup starts the emulators, seeds them and builds the Syncer on a fresh
// SQLite history.
func (d *demo) setup(ctx context.Context) error {
	if err := os.MkdirAll(d.stateDir, 0o700); err != nil {
		return fmt.Errorf("demo state directory: %w", err)
	}
	db := filepath.Join(d.stateDir, "demo.db")
	if d.keep {
		db = filepath.Join(d.stateDir, config.DefaultHistoryFile) // where the kept configuration finds it
	}
	// A fresh history each time, so the demo tells the same story.
	for _, p := range []string{db, db + "-wal", db + "-shm", db + "-journal", db + ".locks"} {
		if err := os.RemoveAll(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("removing the previous demo history: %w", err)
		}
	}
	var err error
	if d.hist, err = sqlite.Open(ctx, db, &sqlite.Options{Logger: d.app.log}); err != nil {
		return err
	}
	if d.keep {
		// The other commands sign in to it as a real app, over TLS, from
		// the kept configuration.
		d.graph = graphtest.NewTLSServer()
		d.graph.AddApp(demoTenant, demoClient, demoAppSecret)
	} else {
		d.graph = graphtest.NewServer()
	}
	// The demo makes more requests in a minute than a real run would need an
	// hour for; a larger hourly limit keeps the emulator from pacing it.
	d.at = autotasktest.NewServer(autotasktest.Options{HourlyLimit: 1_000_000, TimeScale: 0.001})
	d.seed()

	cr := d.at.Credentials()
	d.store, err = autotask.New(autotask.Config{IntegrationCode: cr.IntegrationCode, Username: cr.Username, Secret: adsync.NewSecret(cr.Secret),
		ZoneLookupURL: d.at.ZoneLookupURL(), HTTPClient: d.at.Client(), Logger: d.app.log,
		// The budget is read once: with reads every 100 calls, the count
		// of calls would depend on how the concurrent writes interleave.
		ThresholdEvery: 1 << 30})
	if err != nil {
		return err
	}
	src, err := graph.New(graph.Config{GroupID: d.groups["Autotask Contacts"], BaseURL: d.graph.GraphURL(),
		Credential: graph.StaticToken("demo"), Logger: d.app.log, HTTPClient: d.graph.Client()})
	if err != nil {
		return err
	}
	d.pr = d.app.newProgress()
	// One write at a time: the emulator numbers contacts as their creates
	// arrive, so concurrent writes would number them differently on each
	// run, and the demo would not tell the same story twice.
	d.syncer, err = adsync.NewSyncer(adsync.Options{Store: d.store, History: d.hist, Matcher: matcher.New(nil),
		Fields: merge.New, Logger: d.app.log, Progress: d.pr.update, WriteConcurrency: 1})
	if err != nil {
		return err
	}
	d.org = adsync.Org{Config: adsync.OrgConfig{ID: demoOrg, Name: "Northwind Traders", CompanyID: d.company, Enabled: true,
		Directory: adsync.DirectoryAzure, BillingProductID: d.billing}, Source: src}
	return nil
}

func (d *demo) close() {
	d.graph.Close()
	d.at.Close()
	_ = d.hist.Close()
}

var (
	demoFirst = []string{"Anna", "Ben", "Clara", "David", "Elena", "Felix", "Grace", "Hugo", "Isabel", "Jonas",
		"Katrin", "Liam", "Maria", "Noah", "Olivia", "Paul", "Quinn", "Rosa", "Samuel", "Tanja",
		"Ursula", "Victor", "Wendy", "Xavier", "Yasmin", "Zoë", "José", "Renée", "Søren", "Łukasz",
		"Aoife", "Björn", "Chloé", "Dmitri", "Eva", "Farah", "Gustav", "Hana", "Ivan", "Jürgen"}
	demoLast = []string{"Schmidt", "O'Brien", "Müller", "García", "Smith", "Nowak", "Rossi", "Dubois", "Jensen", "Kowalski",
		"Martin", "Bernard", "Weber", "Fischer", "Meyer", "Wagner", "Becker", "Hoffmann", "Schulz", "Koch",
		"Richter", "Klein", "Wolf", "Schröder", "Neumann", "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann",
		"Hartmann", "Lange", "Schmitt", "Werner", "Krause", "Meier", "Lehmann", "Köhler", "Herrmann", "König",
		"Walker", "Wright", "Thompson", "White", "Hughes", "Edwards", "Green", "Hall", "Wood", "Harris",
		"Lewis", "Clarke", "Jackson", "Mary-Jane", "Roberts", "Johnson", "Evans", "Moreau", "Laurent", "Fontaine"}
	demoTitles = []string{"Account Manager", "Software Engineer", "Office Manager", "Sales Representative", "Accountant",
		"Warehouse Lead", "HR Partner", "Support Analyst", "Buyer", "Logistics Planner", "Marketing Specialist", "Controller"}
	demoGroups = []struct{ name, country, city, prefix string }{
		{"UK Staff", "GB", "London", "+44 20 7946 "},
		{"Germany Staff", "DE", "Hamburg", "+49 40 5555 "},
		{"US Staff", "US", "Seattle", "+1 206 555 "},
		{"US Sales", "US", "Chicago", "+1 312 555 "},
		{"France Staff", "FR", "Lyon", "+33 4 7800 "},
	}
)

var asciiFold = strings.NewReplacer("ë", "e", "é", "e", "è", "e", "ø", "o", "ö", "o", "ü", "u", "ł", "l", "Ł", "l",
	"á", "a", "í", "i", "ó", "o", "ç", "c", "'", "", " ", "", "-", "")

func demoEmail(first, last string) string {
	return strings.ToLower(asciiFold.Replace(first)+"."+asciiFold.Replace(last)) + "@northwind.example"
}

// seed builds the customer: a synced group with nested groups, users with
// realistic values, and an Autotask company where about a third of the
// people already are contacts.
func (d *demo) seed() {
	rng := rand.New(rand.NewPCG(7, 2026))
	guid := func() string {
		return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", rng.Uint32(), rng.Uint32()&0xffff, rng.Uint32()&0xfff,
			rng.Uint32()&0xfff, rng.Uint64()&0xffffffffffff)
	}
	g := d.graph
	d.groups = map[string]string{"Autotask Contacts": g.AddGroup(guid(), "Autotask Contacts")}
	root := d.groups["Autotask Contacts"]
	for _, grp := range demoGroups {
		d.groups[grp.name] = g.AddGroup(guid(), grp.name)
	}
	// Nested: US Sales is inside US Staff, the others directly in the root.
	g.AddMembers(d.groups["US Staff"], d.groups["US Sales"])
	for _, grp := range demoGroups {
		if grp.name != "US Sales" {
			g.AddMembers(root, d.groups[grp.name])
		}
	}
	// Members that are not users are left out by the source.
	g.AddMembers(root, g.AddObject(guid(), "#microsoft.graph.device", "Reception kiosk"),
		g.AddObject(guid(), "#microsoft.graph.orgContact", "External auditor"))

	d.at.SetLatency(0)
	d.company = d.at.AddCompany("Northwind Traders")
	d.billing = d.at.AddBillingProduct("Managed User (Standard)")
	combos := len(demoFirst) * len(demoLast)
	for i := range d.users {
		first, last := demoFirst[i%len(demoFirst)], demoLast[(i/len(demoFirst))%len(demoLast)]
		if n := i / combos; n > 0 { // past 2,400 people: double-barrelled names keep them unique
			last += "-" + demoLast[(n+6)%len(demoLast)]
			if k := n / len(demoLast); k > 0 { // past 144,000: a generation suffix too
				last += fmt.Sprintf(" %d", k+1)
			}
		}
		grp := demoGroups[(i/7)%len(demoGroups)]
		u := graphtest.User{ID: guid(), GivenName: first, Surname: last, DisplayName: first + " " + last,
			Mail: demoEmail(first, last), JobTitle: demoTitles[rng.IntN(len(demoTitles))],
			BusinessPhones: []string{fmt.Sprintf("%s%04d", grp.prefix, i)}, City: grp.city, UsageLocation: grp.country,
			StreetAddress: "1 Harbour Road\nFloor " + fmt.Sprint(1+i%6), PostalCode: fmt.Sprintf("%05d", 10000+i%900),
			Disabled: i%150 == 149}
		u.UserPrincipalName = u.Mail
		if i%3 == 0 {
			u.MobilePhone = fmt.Sprintf("+44 7700 9%05d", i)
		}
		switch i {
		case 5: // R-FIELD-4: longer than Autotask's 50 characters
			u.JobTitle = "Senior Regional Vice President of Strategic Partnerships, EMEA"
		case 6: // R-FIELD-6: a country Autotask does not know
			u.UsageLocation, u.Country = "", "Atlantis"
		case 7: // R-FIELD-5: no last name, cannot be created
			u.Surname, u.DisplayName = "", first
		case 10, 11: // R-CONF-1: a shared mailbox set as two users' mail
			u.Mail = "info@northwind.example"
		}
		d.people = append(d.people, demoPerson{User: u, group: grp.name})
	}
	// R-CONF-2: two people of the same name, neither known to Autotask.
	for k := range 2 {
		u := graphtest.User{ID: guid(), GivenName: "Chris", Surname: "Taylor", DisplayName: "Chris Taylor",
			Mail: fmt.Sprintf("chris.taylor%d@northwind.example", k+1), JobTitle: demoTitles[k], UsageLocation: "GB"}
		u.UserPrincipalName = u.Mail
		d.people = append(d.people, demoPerson{User: u, group: "UK Staff"})
	}
	for _, p := range d.people {
		g.AddMembers(d.groups[p.group], g.PutUser(p.User))
	}

	// Autotask: contacts the MSP already has.
	seed := func(f autotasktest.Fields) {
		if _, err := d.at.SeedContact(d.company, f); err != nil {
			panic(err) // the demo's own data: a bug, not an input problem
		}
	}
	for i, p := range d.people[:d.users] {
		u := p.User
		switch {
		case i == 12: // R-CONF-3: two active contacts with the user's email
			for range 2 {
				seed(autotasktest.Fields{"firstName": u.GivenName, "lastName": u.Surname, "emailAddress": u.Mail})
			}
		case i%20 == 1 || i%20 == 5 || i%20 == 9 || i%20 == 13: // R-MATCH-1: same email, stale values
			email := u.Mail
			if i%40 == 1 {
				email = strings.ToUpper(email[:1]) + email[1:] // compared case-insensitively
			}
			seed(autotasktest.Fields{"firstName": u.GivenName, "lastName": u.Surname, "emailAddress": email, "title": "Associate"})
		case i%20 == 2: // R-MATCH-3: same name, an old email address
			seed(autotasktest.Fields{"firstName": strings.ToUpper(u.GivenName), "lastName": u.Surname,
				"emailAddress": strings.Replace(u.Mail, "@northwind.example", "@northwind-old.example", 1)})
		case i%100 == 3: // R-MATCH-2: an inactive contact with the email
			seed(autotasktest.Fields{"firstName": u.GivenName, "lastName": u.Surname, "emailAddress": u.Mail, "isActive": false})
		case i%100 == 23: // R-MATCH-4: an inactive contact with the name
			seed(autotasktest.Fields{"firstName": u.GivenName, "lastName": u.Surname, "isActive": false})
		}
	}
	// People the directory does not have (suppliers, former staff): never touched.
	for i := range demoSuppliers {
		id, err := d.at.SeedContact(d.company, autotasktest.Fields{"firstName": "Vendor", "lastName": fmt.Sprintf("Contact %03d", i),
			"emailAddress": fmt.Sprintf("contact%03d@supplier.example", i)})
		if err != nil {
			panic(err)
		}
		d.suppliers = append(d.suppliers, id)
	}
}

// demoSuppliers is the number of contacts of people the directory does not
// have: the sync must never touch them.
const demoSuppliers = 120

// suppliersUntouched counts the supplier contacts still active with no
// write (PATCH) sent to them, in one pass over the emulator's request log.
func (d *demo) suppliersUntouched() int {
	written := map[string]bool{}
	for _, r := range d.at.Requests() {
		if r.Method == "PATCH" {
			if m := patchedID.FindStringSubmatch(r.Body); m != nil {
				written[m[1]] = true
			}
		}
	}
	n := 0
	for _, id := range d.suppliers {
		if c, ok := d.at.Contact(id); ok && c["isActive"] == int64(1) && !written[strconv.FormatInt(id, 10)] {
			n++
		}
	}
	return n
}

// patchedID finds the contact id in a PATCH body.
var patchedID = regexp.MustCompile(`"id"\s*:\s*(\d+)`)

func (d *demo) describe() {
	disabled := 0
	for _, p := range d.people {
		if p.Disabled {
			disabled++
		}
	}
	active, inactive := 0, 0
	for _, c := range d.at.Contacts(d.company) {
		if c["isActive"] == int64(1) {
			active++
		} else {
			inactive++
		}
	}
	d.printf("Entra ID: group \"Autotask Contacts\" with %d users (%d of them disabled) in nested groups\n", len(d.people), disabled)
	d.printf("  (UK, Germany, France, US Staff > US Sales), plus a device and an external contact.\n")
	d.printf("Autotask: company \"Northwind Traders\" (id %d) with %d active and %d inactive contacts already,\n", d.company, active, inactive)
	d.printf("  billing product \"Managed User (Standard)\" (id %d) for contacts the sync creates.\n", d.billing)
	d.printf("Planted on purpose: a shared mailbox on two users, two people named Chris Taylor, duplicate\n")
	d.printf("  contacts for one email, a title too long for Autotask, an unknown country, a user with no last name.\n")
}

// showPlan prints a plan's summary, its changes counted by rule, and a few
// changes of each kind in full.
func (d *demo) showPlan(p *adsync.Plan, perKind int) {
	d.printf("%s\n\n", p.Summary())
	byRule := map[string]int{}
	kindOf := map[string]adsync.ChangeKind{}
	for _, c := range p.Changes {
		key := string(c.Kind) + " " + c.Rule
		byRule[key]++
		kindOf[key] = c.Kind
	}
	keys := make([]string, 0, len(byRule))
	for k := range byRule {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	d.printf("Changes by rule:\n")
	for _, k := range keys {
		d.printf("  %-28s %5d\n", k, byRule[k])
	}
	d.printf("\nA few of them (before → after):\n")
	var excerpt adsync.Plan
	for _, kind := range adsync.ChangeKinds() {
		n := 0
		for _, c := range p.Changes {
			if c.Kind == kind && n < perKind {
				excerpt.Changes = append(excerpt.Changes, c)
				n++
			}
		}
	}
	var b bytes.Buffer
	_, _ = excerpt.WriteTo(&b)
	_, rest, _ := strings.Cut(b.String(), "\n") // the excerpt's own summary line
	for line := range strings.Lines(rest) {
		d.printf("  %s", line)
	}
	for i, w := range p.Warnings {
		if i == 0 {
			d.printf("\nWarnings:\n")
		}
		d.printf("  ? %s\n", w)
	}
	for i, s := range p.Skips {
		if i == 0 {
			d.printf("\nSkipped:\n")
		}
		d.printf("  - %s [%s]: %s\n", s.User, s.Rule, s.Reason)
	}
	d.printf("\n")
}

// showChanges answers "which contacts did the run change?" from its change
// log, and says how to ask it.
func (d *demo) showChanges(ctx context.Context, runID int64) error {
	d.printf("\nWhich contacts did run %d change, and why? Every write is in the run's change log:\n", runID)
	d.printf("  adsync history --org %s --run %d                 (add --kind deactivate, or --json)\n", demoOrg, runID)
	d.printf("  adsync history --org %s --user USER_ID  (or --contact ID: one person's changes across the kept runs)\n", demoOrg)
	recs, err := d.syncer.Changes(ctx, demoOrg, adsync.ChangeFilter{RunID: runID, Kind: adsync.ChangeDeactivate})
	if err != nil {
		return err
	}
	d.printf("Its %d deactivations, from the log:\n", len(recs))
	for i := range recs {
		_, _ = recs[i].WriteTo(&indent{w: d.w, prefix: "  "})
	}
	return nil
}

// undoMistake approves the held run by mistake, then undoes the approval
// run: the deactivated contacts are active again.
func (d *demo) undoMistake(ctx context.Context, heldRun int64) error {
	d.printf("The admin approves run %d anyway (adsync approve --org %s --run %d):\n", heldRun, demoOrg, heldRun)
	run, err := d.syncer.Approve(ctx, d.org, heldRun)
	d.pr.done()
	if err != nil {
		return fmt.Errorf("approving: %w", err)
	}
	writeRunTimed(d.w, run, false)
	d.printf("\n%d contacts are inactive that should not be. Run %d is in the history with its change log,\n", run.Counts.Deactivated, run.ID)
	d.printf("so it can be taken back. adsync undo --org %s --run %d plans the inverse against Autotask as it is:\n\n", demoOrg, run.ID)
	p, err := d.syncer.PlanUndo(ctx, d.org, run.ID)
	d.pr.done()
	if err != nil {
		return fmt.Errorf("planning the undo: %w", err)
	}
	d.showPlan(p, 3)
	d.printf("adsync undo --org %s --run %d --apply writes it, as a run of its own (which can be undone too):\n", demoOrg, run.ID)
	undo, err := d.syncer.Apply(ctx, d.org, p)
	d.pr.done()
	if err != nil {
		return fmt.Errorf("applying the undo: %w", err)
	}
	writeRunTimed(d.w, undo, false)
	return nil
}

// dayTwo changes the directory: promotions, leavers, disabled accounts, a
// deletion, new hires.
func (d *demo) dayTwo() {
	g := d.graph
	// The people who change are picked in proportion to the customer's
	// size (at the default 2,000: from user 100, 200, 300 and 400), so
	// that every size from --users 100 up tells the same story.
	n := d.users
	for i := n / 20; i < n/20+12; i++ {
		g.UpdateUser(d.people[i].ID, func(u *graphtest.User) { u.JobTitle = "Senior " + u.JobTitle })
	}
	for i := n/20 + 12; i < n/20+15; i++ {
		g.UpdateUser(d.people[i].ID, func(u *graphtest.User) { u.MobilePhone = fmt.Sprintf("+44 7700 8%05d", i) })
	}
	for i := n / 10; i < n/10+4; i++ {
		g.RemoveMember(d.groups[d.people[i].group], d.people[i].ID)
	}
	for i := 3 * n / 20; i < 3*n/20+2; i++ {
		g.UpdateUser(d.people[i].ID, func(u *graphtest.User) { u.Disabled = true })
	}
	g.DeleteUser(d.people[n/5].ID)
	rng := rand.New(rand.NewPCG(8, 2026))
	for k := range 6 {
		u := graphtest.User{ID: fmt.Sprintf("%08x-0000-4000-8000-%012x", rng.Uint32(), k), GivenName: demoFirst[k], Surname: "Newhire",
			DisplayName: demoFirst[k] + " Newhire", Mail: demoEmail(demoFirst[k], "Newhire"), JobTitle: "Trainee", UsageLocation: "DE"}
		u.UserPrincipalName = u.Mail
		g.AddMembers(d.groups["Germany Staff"], g.PutUser(u))
	}
	d.printf("12 promotions (title), 3 new mobile numbers, 4 people leave their group, 2 accounts disabled,\n")
	d.printf("1 account deleted, 6 new hires.\n\n")
}

// emptyGroup removes a nested group from the synced group and returns how
// many users it held, nested groups included.
func (d *demo) emptyGroup(name string) int {
	d.graph.RemoveMember(d.groups["Autotask Contacts"], d.groups[name])
	n := 0
	for _, p := range d.people {
		if !p.Disabled && (p.group == name || (name == "US Staff" && p.group == "US Sales")) {
			n++
		}
	}
	return n
}

func (d *demo) restoreGroup(name string) {
	d.graph.AddMembers(d.groups["Autotask Contacts"], d.groups[name])
}

// billed counts the contacts that got a billing product association, in one
// pass over the emulator's request log: asking the emulator contact by
// contact costs a scan of every association each time, minutes at 400,000.
func (d *demo) billed() int {
	contacts := map[string]bool{}
	for _, r := range d.at.Requests() {
		if r.Method == "POST" && r.Status/100 == 2 && strings.HasSuffix(r.Path, "/BillingProductAssociations") {
			contacts[r.Path] = true
		}
	}
	return len(contacts)
}

// writeRequests counts the contact writes the emulator has served: POST
// (create) and PATCH (update) on Companies/{id}/Contacts, not the queries.
func (d *demo) writeRequests() int {
	n := 0
	for _, r := range d.at.Requests() {
		if (r.Method == "POST" || r.Method == "PATCH") && strings.Contains(r.Path, "/Contacts") && !strings.Contains(r.Path, "query") {
			n++
		}
	}
	return n
}
