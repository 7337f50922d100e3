package matcher_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/matcher"
)

func Example() {
	users := []*adsync.User{
		{ID: "u1", Values: adsync.Values{adsync.FirstName: "Alice", adsync.LastName: "Jones", adsync.Email: "alice@example.com"}},
		{ID: "u2", Values: adsync.Values{adsync.FirstName: "Seán", adsync.LastName: "O'Brien"}},
		{ID: "u3", Values: adsync.Values{adsync.FirstName: "Carol", adsync.LastName: "White", adsync.Email: "carol@example.com"}},
	}
	contacts := []*adsync.Contact{
		{ID: 10, Active: false, Values: adsync.Values{adsync.FirstName: "Alice", adsync.LastName: "Jones", adsync.Email: "Alice@Example.com"}},
		{ID: 11, Active: true, Values: adsync.Values{adsync.FirstName: "Sean", adsync.LastName: "OBrien"}},
	}
	decisions, err := matcher.New(nil).Match(context.Background(), adsync.MatchInput{Users: users, Contacts: contacts})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, d := range decisions {
		fmt.Println(d.UserID, d.Action, d.ContactID, d.Rule)
	}
	// Output:
	// u1 link-reactivate 10 R-MATCH-2
	// u2 link 11 R-MATCH-3
	// u3 create 0 R-MATCH-5
}

// A custom normalizer: a first name and its nickname compare equal.
func ExampleOptions() {
	nicknames := map[string]string{"bob": "robert", "bill": "william"}
	m := matcher.New(&matcher.Options{Normalize: func(s string) string {
		n := matcher.Normalize(s)
		if full, ok := nicknames[n]; ok {
			return full
		}
		return n
	}})
	users := []*adsync.User{{ID: "u1", Values: adsync.Values{adsync.FirstName: "Bob", adsync.LastName: "Brown"}}}
	contacts := []*adsync.Contact{{ID: 7, Active: true, Values: adsync.Values{adsync.FirstName: "Robert", adsync.LastName: "Brown"}}}
	decisions, _ := m.Match(context.Background(), adsync.MatchInput{Users: users, Contacts: contacts})
	fmt.Println(decisions[0].Action, decisions[0].ContactID, decisions[0].Rule)
	// Output: link 7 R-MATCH-3
}

// adsync.MatcherFunc wraps the default rules: here, contractors (emails
// at contractor.example) always get a contact of their own and are never
// matched to an existing one; everyone else is matched as usual.
func Example_matcherFunc() {
	rules := matcher.New(nil)
	m := adsync.MatcherFunc(func(ctx context.Context, in adsync.MatchInput) ([]adsync.Decision, error) {
		var staff []*adsync.User
		var out []adsync.Decision
		for _, u := range in.Users {
			if strings.HasSuffix(strings.ToLower(u.Values[adsync.Email]), "@contractor.example") {
				out = append(out, adsync.Decision{UserID: u.ID, Action: adsync.ActionCreate, Rule: "local-contractors"})
				continue
			}
			staff = append(staff, u)
		}
		in.Users = staff
		ds, err := rules.Match(ctx, in)
		return append(out, ds...), err
	})
	users := []*adsync.User{
		{ID: "u1", Values: adsync.Values{adsync.FirstName: "Dana", adsync.LastName: "Reed", adsync.Email: "dana@contractor.example"}},
		{ID: "u2", Values: adsync.Values{adsync.FirstName: "Dana", adsync.LastName: "Reed", adsync.Email: "dana@example.com"}},
	}
	contacts := []*adsync.Contact{{ID: 5, Active: true, Values: adsync.Values{adsync.FirstName: "Dana", adsync.LastName: "Reed"}}}
	decisions, _ := m.Match(context.Background(), adsync.MatchInput{Users: users, Contacts: contacts})
	for _, d := range decisions {
		fmt.Println(d.UserID, d.Action, d.ContactID, d.Rule)
	}
	// Output:
	// u1 create 0 local-contractors
	// u2 link 5 R-MATCH-3
}

func ExampleNormalize() {
	for _, s := range []string{"O'Brien", "Mary-Jane", "José", "Straße", "Дмитрий"} {
		fmt.Println(matcher.Normalize(s))
	}
	// Output:
	// obrien
	// maryjane
	// jose
	// strasse
	// дмитрии
}
