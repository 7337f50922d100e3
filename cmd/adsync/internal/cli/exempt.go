package cli

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/psasync/adsync"
)

// exempt lists, sets and removes the contacts the sync never deactivates
// (R-DEACT-9).
func (a *app) exempt(ctx context.Context, args []string) int {
	var fs flag.FlagSet
	contact := fs.Int64("contact", 0, "the Autotask contact id to exempt (or, with --remove, to exempt no longer)")
	remove := fs.Bool("remove", false, "remove the contact's exemption")
	reason := fs.String("reason", "", "why (free text, kept with the exemption)")
	by := fs.String("by", "", "who decided (free text, kept with the exemption)")
	asJSON := fs.Bool("json", false, "list as JSON")
	if !a.parse("exempt", &fs, args, "warn") {
		return a.parseCode()
	}
	if *contact < 0 || (*contact == 0 && *remove) {
		return a.usageError("exempt: --contact must be an Autotask contact id (a positive number)")
	}
	if *contact != 0 && len(a.orgs) != 1 {
		return a.usageError("exempt: give --org ID with --contact CONTACT_ID")
	}
	e, err := a.setup(ctx, needAll, nil)
	if err != nil {
		return a.fail(err)
	}
	defer e.close()
	if *contact != 0 {
		o := e.orgs[0]
		if *remove {
			if err := e.syncer.Unexempt(ctx, o.Config.ID, *contact); err != nil {
				return a.fail(err)
			}
			fmt.Fprintf(a.stdout, "%s: contact %d is no longer exempt; the next full sync deactivates it if its user is out of scope\n", o.Config.ID, *contact)
			return ExitOK
		}
		x := adsync.Exemption{ContactID: *contact, Reason: *reason, By: *by, CreatedAt: time.Now()}
		if err := e.syncer.Exempt(ctx, o.Config, x); err != nil {
			return a.fail(err)
		}
		fmt.Fprintf(a.stdout, "%s: contact %d is exempt: the sync never deactivates it [R-DEACT-9]\n", o.Config.ID, *contact)
		return ExitOK
	}
	all := map[string][]adsync.Exemption{}
	for _, o := range e.orgs {
		xs, err := e.syncer.Exemptions(ctx, o.Config.ID)
		if err != nil {
			return a.fail(err)
		}
		all[o.Config.ID] = xs
		if *asJSON {
			continue
		}
		fmt.Fprintf(a.stdout, "%s: %d exempt contacts\n", o.Config.ID, len(xs))
		for _, x := range xs {
			fmt.Fprintf(a.stdout, "  = contact %d", x.ContactID)
			if x.Reason != "" {
				fmt.Fprintf(a.stdout, ": %s", x.Reason)
			}
			if x.By != "" {
				fmt.Fprintf(a.stdout, " (by %s)", x.By)
			}
			fmt.Fprintln(a.stdout)
		}
	}
	if *asJSON {
		if err := writeJSON(a.stdout, all); err != nil {
			return a.fail(err)
		}
	}
	return ExitOK
}
