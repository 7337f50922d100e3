// Command custommatcher plugs a Matcher of its own into adsync: after a
// customer renamed its email domain, contacts still carry the old one, and
// people's names in Autotask do not always equal the directory's ("Bob" and
// "Robert"). The default rules would create a second contact for them; this
// matcher lets the old domain count as the new one, then applies Autotask's
// rules unchanged.
//
//	go run ./examples/custommatcher
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"strings"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/contacts"
	"github.com/psasync/adsync/history"
	"github.com/psasync/adsync/matcher"
	"github.com/psasync/adsync/merge"
	"github.com/psasync/adsync/source/sourcetest"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// domainAlias returns a Matcher that matches contacts whose email is at
// oldDomain as if it were at newDomain, and otherwise decides as next does.
// Matchers must be pure: it rewrites copies of the contacts, never the
// contacts themselves, and the decisions name the same contact ids.
func domainAlias(next adsync.Matcher, oldDomain, newDomain string) adsync.Matcher {
	return adsync.MatcherFunc(func(ctx context.Context, in adsync.MatchInput) ([]adsync.Decision, error) {
		aliased := make([]*adsync.Contact, len(in.Contacts))
		for i, c := range in.Contacts {
			aliased[i] = c
			email := c.Values[adsync.Email]
			if local, ok := strings.CutSuffix(strings.ToLower(email), "@"+oldDomain); ok {
				cp := *c
				cp.Values[adsync.Email] = local + "@" + newDomain
				aliased[i] = &cp
			}
		}
		in.Contacts = aliased
		return next.Match(ctx, in)
	})
}

func run(ctx context.Context, w io.Writer) error {
	for _, m := range []struct {
		name    string
		matcher adsync.Matcher
	}{
		{"default rules", matcher.New(nil)},
		{"old domain counts as the new one", domainAlias(matcher.New(nil), "contoso-old.example", "contoso.example")},
	} {
		dir := sourcetest.NewMemory(nil)
		bob := adsync.User{Enabled: true, Name: "Bob Ray"}
		bob.Values[adsync.FirstName], bob.Values[adsync.LastName], bob.Values[adsync.Email] = "Bob", "Ray", "bob.ray@contoso.example"
		dir.Add(bob)
		store := contacts.NewMemory(nil)
		store.AddCompany(174, "Contoso")
		old := adsync.Contact{CompanyID: 174, Active: true}
		old.Values[adsync.FirstName], old.Values[adsync.LastName], old.Values[adsync.Email] = "Robert", "Ray", "bob.ray@contoso-old.example"
		store.Seed(old)

		s, err := adsync.NewSyncer(adsync.Options{Store: store, History: history.NewMemory(), Matcher: m.matcher, Fields: merge.New})
		if err != nil {
			return err
		}
		// Only the always-written fields: first and last name, email (R-FIELD-2).
		org := adsync.Org{Config: adsync.OrgConfig{ID: "contoso", CompanyID: 174, Enabled: true,
			Fields: []adsync.FieldSpec{{Field: adsync.Email}}}, Source: dir}
		p, err := s.Plan(ctx, org)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%s:\n", m.name)
		for _, c := range p.Changes {
			fmt.Fprintf(w, "  %s %s [%s]", c.Kind, c.User, c.Rule)
			if c.Kind == adsync.ChangeLink {
				fmt.Fprintf(w, " to %s", c.Contact)
			}
			fmt.Fprintln(w)
			for _, f := range c.Fields {
				if c.Kind != adsync.ChangeCreate {
					fmt.Fprintf(w, "    %s: %q → %q\n", f.Field, f.Before, f.After)
				}
			}
		}
	}
	return nil
}
