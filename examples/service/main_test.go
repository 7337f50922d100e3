package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/autotask"
	"github.com/psasync/adsync/autotask/autotasktest"
	"github.com/psasync/adsync/history/sqlite"
	"github.com/psasync/adsync/source/graph"
	"github.com/psasync/adsync/source/graph/graphtest"
)

// The service against the emulators: it runs the organization at start
// (never attempted), answers /status, runs again when forced, and stops
// gracefully when its context is cancelled.
func TestServe(t *testing.T) {
	g := graphtest.NewServer()
	defer g.Close()
	at := autotasktest.NewServer(autotasktest.Options{})
	defer at.Close()
	gid := g.AddGroup("", "Staff")
	for i := range 3 {
		g.AddMembers(gid, g.PutUser(graphtest.User{GivenName: "User", Surname: fmt.Sprint(i), DisplayName: fmt.Sprint("User ", i),
			UserPrincipalName: fmt.Sprintf("u%d@contoso.example", i), Mail: fmt.Sprintf("u%d@contoso.example", i)}))
	}
	company := at.AddCompany("Contoso")
	src, err := graph.New(graph.Config{GroupID: gid, BaseURL: g.GraphURL(), Credential: graph.StaticToken("test")})
	require.NoError(t, err)
	cr := at.Credentials()
	store, err := autotask.New(autotask.Config{Username: cr.Username, IntegrationCode: cr.IntegrationCode, Secret: adsync.NewSecret(cr.Secret),
		ZoneLookupURL: at.ZoneLookupURL()})
	require.NoError(t, err)
	orgs := []adsync.Org{{Source: src, Config: adsync.OrgConfig{ID: "contoso", CompanyID: company, Enabled: true, Directory: adsync.DirectoryAzure}}}

	hist, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "h.db"), nil)
	require.NoError(t, err)
	defer hist.Close()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	runs := make(chan adsync.Run, 10)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, ln, store, hist, orgs, slog.New(slog.DiscardHandler),
			func(r adsync.Run, _ error) { runs <- r })
	}()
	base := "http://" + ln.Addr().String()

	first := wait(t, runs)
	assert.Equal(t, adsync.TriggerScheduled, first.Trigger, "R-RUN-1 never attempted: due at once")
	assert.Equal(t, 3, first.Counts.Created)

	res, err := http.Get(base + "/status")
	require.NoError(t, err)
	var st []adsync.OrgStatus
	require.NoError(t, json.NewDecoder(res.Body).Decode(&st))
	res.Body.Close()
	require.Len(t, st, 1)
	assert.Equal(t, 3, st[0].ActiveLinkedUsers)

	res, err = http.Post(base+"/force?org=contoso", "", nil)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusAccepted, res.StatusCode)
	forced := wait(t, runs)
	assert.Equal(t, adsync.TriggerForced, forced.Trigger, "R-RUN-2")
	assert.Zero(t, forced.Counts.Writes(), "R-RUN-8")

	res, err = http.Post(base+"/force?org=nope", "", nil)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusNotFound, res.StatusCode)

	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop after its context was cancelled")
	}
}

func wait(t *testing.T, runs <-chan adsync.Run) adsync.Run {
	t.Helper()
	select {
	case r := <-runs:
		return r
	case <-time.After(30 * time.Second):
		t.Fatal("no run")
		return adsync.Run{}
	}
}
