package main

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/autotask"
	"github.com/psasync/adsync/autotask/autotasktest"
	"github.com/psasync/adsync/source/graph"
	"github.com/psasync/adsync/source/graph/graphtest"
)

// The program against the Graph and Autotask emulators.
func TestRun(t *testing.T) {
	g := graphtest.NewServer()
	defer g.Close()
	at := autotasktest.NewServer(autotasktest.Options{})
	defer at.Close()
	staff := g.AddGroup("3f2504e0-4f89-41d3-9a0c-0305e82c3301", "Staff")
	sales := g.AddGroup("", "Sales")
	g.AddMembers(staff, sales, g.PutUser(graphtest.User{ID: "11111111-1111-4111-8111-111111111111", GivenName: "Ann", Surname: "Lee",
		DisplayName: "Ann Lee", UserPrincipalName: "ann@contoso.example", Mail: "ann@contoso.example", JobTitle: "CEO"}))
	g.AddMembers(sales, g.PutUser(graphtest.User{ID: "22222222-2222-4222-8222-222222222222", GivenName: "Bob", Surname: "Ray",
		DisplayName: "Bob Ray", UserPrincipalName: "bob@contoso.example", Mail: "bob@contoso.example"}))
	company := at.AddCompany("Contoso")
	cr := at.Credentials()
	s := settings{
		Graph:     graph.Config{GroupID: staff, BaseURL: g.GraphURL(), Credential: graph.StaticToken("test")},
		Autotask:  autotask.Config{Username: cr.Username, IntegrationCode: cr.IntegrationCode, Secret: adsync.NewSecret(cr.Secret), ZoneLookupURL: at.ZoneLookupURL()},
		CompanyID: company, DB: filepath.Join(t.TempDir(), "history.db"),
	}

	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out, s))
	assert.Contains(t, out.String(), "2 users read; 2 to create")
	assert.Empty(t, at.Contacts(company), "a plan writes nothing")

	out.Reset()
	s.Apply = true
	require.NoError(t, run(context.Background(), &out, s))
	assert.Contains(t, out.String(), "run 1 succeeded: read 2, created 2")
	assert.Len(t, at.Contacts(company), 2)

	out.Reset()
	require.NoError(t, run(context.Background(), &out, s))
	assert.Contains(t, out.String(), "run 2 succeeded: read 2, created 0, linked 0, updated 0", "the history file kept the links")
}
