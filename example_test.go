package adsync_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/contacts"
	"github.com/psasync/adsync/history"
	"github.com/psasync/adsync/matcher"
	"github.com/psasync/adsync/merge"
	"github.com/psasync/adsync/source/sourcetest"
)

// exampleWorld is a tiny organization on in-memory ends: a directory, an
// Autotask company with one contact, a history and a Syncer. Real programs
// use source/ldap or source/graph, autotask and history/sqlite instead.
type exampleWorld struct {
	dir    *sourcetest.Memory
	store  *contacts.Memory
	syncer *adsync.Syncer
	org    adsync.Org
}

func exampleUser(first, last, email, title string) adsync.User {
	u := adsync.User{Enabled: true}
	u.Values[adsync.FirstName], u.Values[adsync.LastName] = first, last
	u.Values[adsync.Email], u.Values[adsync.Title] = email, title
	return u
}

func newExampleWorld(m adsync.Matcher) *exampleWorld {
	w := &exampleWorld{dir: sourcetest.NewMemory(nil), store: contacts.NewMemory(nil)}
	w.dir.Add(exampleUser("Ann", "Lee", "ann@contoso.example", "CEO"))
	w.dir.Add(exampleUser("Bob", "Ray", "bob@contoso.example", "Engineer"))
	w.store.AddCompany(174, "Contoso")
	ann := adsync.Contact{CompanyID: 174, Active: true}
	ann.Values[adsync.FirstName], ann.Values[adsync.LastName] = "Ann", "Lee"
	ann.Values[adsync.Email], ann.Values[adsync.Title] = "ANN@contoso.example", "Intern"
	w.store.Seed(ann)
	if m == nil {
		m = matcher.New(nil) // Autotask's rules
	}
	var err error
	w.syncer, err = adsync.NewSyncer(adsync.Options{Store: w.store, History: history.NewMemory(), Matcher: m, Fields: merge.New})
	if err != nil {
		panic(err)
	}
	w.org = adsync.Org{Config: adsync.OrgConfig{ID: "contoso", CompanyID: 174, Enabled: true,
		Fields: []adsync.FieldSpec{{Field: adsync.Title}}}, Source: w.dir}
	return w
}

// A dry run: the plan lists every write with its before and after values
// and the rule that produced it. Nothing is written.
func ExampleSyncer_Plan() {
	w := newExampleWorld(nil)
	p, err := w.syncer.Plan(context.Background(), w.org)
	if err != nil {
		panic(err)
	}
	_, _ = p.WriteTo(os.Stdout)
	// Output:
	// contoso: 2 users read; 1 to create, 1 to link, 0 to update, 0 to reactivate, 0 to deactivate, 0 held, 0 unchanged, 0 conflicts, 0 skipped
	// = link Ann Lee <ann@contoso.example> (00000000-0000-0000-0000-000000000001) → Ann Lee <ANN@contoso.example> (contact 1) [R-MATCH-1]
	//     emailAddress: "ANN@contoso.example" → "ann@contoso.example"
	//     title: "Intern" → "CEO"
	// + create Bob Ray <bob@contoso.example> (00000000-0000-0000-0000-000000000002) → new contact [R-MATCH-5]
	//     firstName: "Bob"
	//     lastName: "Ray"
	//     emailAddress: "bob@contoso.example"
	//     title: "Engineer"
}

// A run plans and applies; a second run with no change writes nothing
// (R-RUN-8), and a change in the directory becomes a partial update.
func ExampleSyncer_Sync() {
	w := newExampleWorld(nil)
	ctx := context.Background()
	for _, change := range []func(){
		func() {},
		func() {},
		func() {
			var v adsync.Values
			v[adsync.Title] = "Chief Executive"
			_ = w.dir.Update("00000000-0000-0000-0000-000000000001", adsync.NewFieldSet(adsync.Title), v)
		},
	} {
		change()
		run, err := w.syncer.Sync(ctx, w.org, adsync.TriggerForced)
		if err != nil {
			panic(err)
		}
		fmt.Printf("run %d %s: %s\n", run.ID, run.Status, run.Counts)
	}
	// Output:
	// run 1 succeeded: read 2, created 1, linked 1, updated 0, reactivated 0, deactivated 0, held 0, unchanged 0, conflicts 0, skipped 0, failed writes 0
	// run 2 succeeded: read 2, created 0, linked 0, updated 0, reactivated 0, deactivated 0, held 0, unchanged 2, conflicts 0, skipped 0, failed writes 0
	// run 3 succeeded: read 2, created 0, linked 0, updated 1, reactivated 0, deactivated 0, held 0, unchanged 1, conflicts 0, skipped 0, failed writes 0
}

// The guard (R-DEACT-4): a run that would deactivate more contacts than it
// allows applies everything else and holds the deactivations until an admin
// approves that run.
func ExampleSyncer_Approve() {
	w := newExampleWorld(nil)
	w.org.Config.Guard = adsync.Guard{Min: 1, Percent: 10}
	ctx := context.Background()
	if _, err := w.syncer.Sync(ctx, w.org, adsync.TriggerForced); err != nil {
		panic(err)
	}
	// Both users leave the group: 2 deactivations, more than max(1, 10 % of 2).
	w.dir.Remove("00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-000000000002")
	held, err := w.syncer.Sync(ctx, w.org, adsync.TriggerForced)
	if err != nil {
		panic(err)
	}
	fmt.Printf("run %d %s: %d deactivations held\n", held.ID, held.Status, len(held.Held))

	approved, err := w.syncer.Approve(ctx, w.org, held.ID)
	if err != nil {
		panic(err)
	}
	fmt.Printf("run %d (%s of run %d) %s: %d deactivated\n", approved.ID, approved.Trigger, approved.ApprovedRun,
		approved.Status, approved.Counts.Deactivated)
	// Output:
	// run 2 held: 2 deactivations held
	// run 3 (approval of run 2) succeeded: 2 deactivated
}

// A MatcherFunc wraps any function as a Matcher: here Autotask's rules,
// with each decision printed. A custom matcher must be pure (no I/O); the
// Syncer checks its decisions.
func ExampleMatcherFunc() {
	rules := matcher.New(nil)
	logged := adsync.MatcherFunc(func(ctx context.Context, in adsync.MatchInput) ([]adsync.Decision, error) {
		ds, err := rules.Match(ctx, in)
		for i, d := range ds {
			fmt.Printf("%s: %s (%s)\n", in.Users[i].Values[adsync.Email], d.Action, d.Rule)
		}
		return ds, err
	})
	w := newExampleWorld(logged)
	if _, err := w.syncer.Plan(context.Background(), w.org); err != nil {
		panic(err)
	}
	// Output:
	// ann@contoso.example: link (R-MATCH-1)
	// bob@contoso.example: create (R-MATCH-5)
}

// A Scheduler runs each organization every 24 hours from the start of its
// last attempt (R-RUN-1); one never attempted runs at once. Force runs one
// now; cancelling the context stops the scheduler after the runs in flight.
func ExampleScheduler() {
	w := newExampleWorld(nil)
	runs := make(chan adsync.Run)
	sc, err := adsync.NewScheduler(w.syncer, []adsync.Org{w.org}, &adsync.SchedulerOptions{
		OnRun: func(r adsync.Run, err error) { runs <- r },
	})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- sc.Run(ctx) }()

	r := <-runs
	fmt.Printf("run %d (%s): %s\n", r.ID, r.Trigger, r.Status)
	next, _ := sc.NextDue(ctx, "contoso")
	fmt.Println("next due in about", next.Sub(r.Started).Round(time.Hour))
	if err := sc.Force("contoso"); err != nil {
		panic(err)
	}
	r = <-runs
	fmt.Printf("run %d (%s): %s, %d writes\n", r.ID, r.Trigger, r.Status, r.Counts.Writes())
	cancel()
	fmt.Println("stopped:", <-done)
	// Output:
	// run 1 (scheduled): succeeded
	// next due in about 24h0m0s
	// run 2 (forced): succeeded, 0 writes
	// stopped: <nil>
}
