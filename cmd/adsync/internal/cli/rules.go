package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/psasync/adsync/docs"
)

// rulesUsage is the help of `adsync rules`.
const rulesUsage = `Usage: adsync rules [ID]

Lists every rule id the plans, runs and logs cite (R-MATCH-1 …), with where it
comes from (Autotask: Autotask's AD Sync documents it; adsync: adsync decides)
and its meaning in one line. With an ID, prints that rule only; case does not
matter. docs/rules.md has the details.
`

// rules prints the rules of docs/rules.md: all of them, or the one named.
// It reads no configuration: a user looking up an id from a plan needs none.
func (a *app) rules(_ context.Context, args []string) int {
	fs := flag.NewFlagSet("adsync rules", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	a.commonFlags(fs) // accepted where every command accepts them, unused
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(a.stdout, rulesUsage)
			return ExitOK
		}
		return a.usageError("rules: " + err.Error())
	}
	switch fs.NArg() {
	case 0:
		printRules(a.stdout, docs.Rules())
		return ExitOK
	case 1:
		r, ok := docs.Lookup(fs.Arg(0))
		if !ok {
			fmt.Fprintf(a.stderr, "adsync: rules: no rule has the id %q; 'adsync rules' lists them all\n", fs.Arg(0))
			return ExitUsage
		}
		printRules(a.stdout, []docs.Rule{r})
		return ExitOK
	default:
		return a.usageError(fmt.Sprintf("rules: one rule id at most, got %d arguments", fs.NArg()))
	}
}

// printRules writes one rule a line: id, source and summary in columns.
func printRules(w io.Writer, rules []docs.Rule) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range rules {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.ID, r.Source, r.Summary)
	}
	tw.Flush()
}
