package graph_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/source/graph"
	"github.com/psasync/adsync/source/graph/graphtest"
)

// Reading the members of a group, nested groups included, from the Graph
// emulator. Against Entra ID, give TenantID, ClientID and ClientSecret (or
// Certificate) instead of BaseURL and Credential.
func Example() {
	srv := graphtest.NewServer()
	defer srv.Close()
	staff := srv.AddGroup("3f2504e0-4f89-41d3-9a0c-0305e82c3301", "Staff")
	sales := srv.AddGroup("", "Sales")
	ann := srv.PutUser(graphtest.User{ID: "11111111-1111-4111-8111-111111111111", GivenName: "Ann", Surname: "Lee",
		DisplayName: "Ann Lee", Mail: "ann@contoso.example", UserPrincipalName: "ann@contoso.example",
		BusinessPhones: []string{"+1 555 0100"}, UsageLocation: "US"})
	bob := srv.PutUser(graphtest.User{ID: "22222222-2222-4222-8222-222222222222", GivenName: "Bob", Surname: "Ray",
		DisplayName: "Bob Ray", Mail: "bob@contoso.example", UserPrincipalName: "bob@contoso.example"})
	srv.AddMembers(sales, bob)
	srv.AddMembers(staff, ann, sales)

	src, err := graph.New(graph.Config{GroupID: staff, BaseURL: srv.GraphURL(), Credential: graph.StaticToken("example")})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	if _, err := src.Check(ctx); err != nil {
		panic(err)
	}
	srv.ResetRequests()
	err = src.Users(ctx, func(page []adsync.User) error {
		for _, u := range page {
			fmt.Printf("%s phone=%q country=%q\n", u.Label(), u.Values[adsync.Phone], u.Values[adsync.CountryID])
		}
		return nil
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("Graph calls for the read:", srv.CountRequests("/transitiveMembers/"))
	// Output:
	// Ann Lee <ann@contoso.example> (11111111-1111-4111-8111-111111111111) phone="+1 555 0100" country="US"
	// Bob Ray <bob@contoso.example> (22222222-2222-4222-8222-222222222222) phone="" country=""
	// Graph calls for the read: 1
}

// The permission trap: with GroupMember.Read.All alone, Graph returns the
// members with only their id, and no error. The source refuses to hand
// such users on and says which permission to grant.
func Example_permissionTrap() {
	srv := graphtest.NewServer()
	defer srv.Close()
	g := srv.AddGroup("3f2504e0-4f89-41d3-9a0c-0305e82c3301", "Staff")
	srv.AddMembers(g, srv.PutUser(graphtest.User{UserPrincipalName: "ann@contoso.example"}))
	srv.SetPermissions(graphtest.PermGroupMemberReadAll)

	src, _ := graph.New(graph.Config{GroupID: g, BaseURL: srv.GraphURL(), Credential: graph.StaticToken("example")})
	_, err := src.Check(context.Background())
	fmt.Println(errors.Is(err, adsync.ErrUnauthorized))
	fmt.Println(err)
	// Output:
	// true
	// graph: reading the transitive members of group 3f2504e0-4f89-41d3-9a0c-0305e82c3301: LimitedInformation: group members came back with only their id and no properties (the app can read the group's membership but not users: grant the application permission User.Read.All (with GroupMember.Read.All) and an administrator's consent)
}

// An incremental read: a full read returns a cursor, and the next read
// with it delivers only the members changed since.
func ExampleSource_UsersSince() {
	srv := graphtest.NewServer()
	defer srv.Close()
	g := srv.AddGroup("3f2504e0-4f89-41d3-9a0c-0305e82c3301", "Staff")
	ann := srv.PutUser(graphtest.User{ID: "11111111-1111-4111-8111-111111111111", DisplayName: "Ann Lee", UserPrincipalName: "ann@contoso.example"})
	bob := srv.PutUser(graphtest.User{ID: "22222222-2222-4222-8222-222222222222", DisplayName: "Bob Ray", UserPrincipalName: "bob@contoso.example"})
	srv.AddMembers(g, ann, bob)
	src, _ := graph.New(graph.Config{GroupID: g, BaseURL: srv.GraphURL(), Credential: graph.StaticToken("example")})

	print := func(page []adsync.User) error {
		for _, u := range page {
			fmt.Printf("  %s %q\n", u.Name, u.Values[adsync.Title])
		}
		return nil
	}
	ctx := context.Background()
	fmt.Println("full read:")
	cursor, err := src.UsersSince(ctx, "", print)
	if err != nil {
		panic(err)
	}
	srv.UpdateUser(bob, func(u *graphtest.User) { u.JobTitle = "CFO" })
	fmt.Println("changed since:")
	if _, err := src.UsersSince(ctx, cursor, print); err != nil {
		panic(err)
	}
	// Output:
	// full read:
	//   Ann Lee ""
	//   Bob Ray ""
	// changed since:
	//   Bob Ray "CFO"
}
