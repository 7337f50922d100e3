package crashtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/autotask"
	"github.com/psasync/adsync/autotask/autotasktest"
	"github.com/psasync/adsync/history/sqlite"
	"github.com/psasync/adsync/matcher"
	"github.com/psasync/adsync/merge"
	"github.com/psasync/adsync/source/sourcetest"
)

const users = 600

// The child process runs one sync and is killed by the parent in the
// middle of it; the environment tells it where everything is.
const (
	envChild   = "ADSYNC_CRASH_CHILD"
	envURL     = "ADSYNC_CRASH_ZONE_URL"
	envUser    = "ADSYNC_CRASH_USER"
	envSecret  = "ADSYNC_CRASH_SECRET"
	envCode    = "ADSYNC_CRASH_CODE"
	envDB      = "ADSYNC_CRASH_DB"
	envCompany = "ADSYNC_CRASH_COMPANY"
)

func TestMain(m *testing.M) {
	if os.Getenv(envChild) == "1" {
		if err := child(); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// org is the organization both processes sync: the same users every time.
func org(company int64) adsync.Org {
	src := sourcetest.NewMemory(nil)
	for i := range users {
		u := adsync.User{ID: fmt.Sprintf("user-%04d", i), Enabled: true}
		u.Values[adsync.FirstName] = "First"
		u.Values[adsync.LastName] = fmt.Sprint("Last", i)
		u.Values[adsync.Email] = fmt.Sprintf("user%d@customer.example", i)
		u.Values[adsync.Title] = "Engineer"
		src.Put(u)
	}
	return adsync.Org{Source: src, Config: adsync.OrgConfig{ID: "customer", CompanyID: company, Enabled: true}}
}

// laterClock is the system clock moved forward: a restart that comes that
// much later.
type laterClock struct{ by time.Duration }

func (c laterClock) Now() time.Time { return time.Now().Add(c.by) }
func (c laterClock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}

func syncer(ctx context.Context, zoneURL, code, user, secret, db string, later time.Duration) (*adsync.Syncer, *sqlite.Store, error) {
	store, err := autotask.New(autotask.Config{IntegrationCode: code, Username: user, Secret: adsync.NewSecret(secret), ZoneLookupURL: zoneURL})
	if err != nil {
		return nil, nil, err
	}
	hist, err := sqlite.Open(ctx, db, nil)
	if err != nil {
		return nil, nil, err
	}
	s, err := adsync.NewSyncer(adsync.Options{Store: store, History: hist, Matcher: matcher.New(nil), Fields: merge.New,
		Clock: laterClock{later}})
	return s, hist, err
}

func child() error {
	ctx := context.Background()
	company, err := strconv.ParseInt(os.Getenv(envCompany), 10, 64)
	if err != nil {
		return err
	}
	s, _, err := syncer(ctx, os.Getenv(envURL), os.Getenv(envCode), os.Getenv(envUser), os.Getenv(envSecret), os.Getenv(envDB), 0)
	if err != nil {
		return err
	}
	_, err = s.Sync(ctx, org(company), adsync.TriggerScheduled)
	return err
}

// TestKilledProcessConverges kills a process running a sync (SIGKILL, in
// the middle of its writes), then runs again in this process on the same
// SQLite history: the dead run is found interrupted, and the sync ends with
// one contact per user (R-RUN-7).
func TestKilledProcessConverges(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	ctx := context.Background()
	srv := autotasktest.NewServer(autotasktest.Options{TimeScale: 0.001})
	t.Cleanup(srv.Close)
	srv.SetLatency(2 * time.Millisecond) // so that the kill lands mid-run
	company := srv.AddCompany("Customer")
	cr := srv.Credentials()
	db := filepath.Join(t.TempDir(), "history.db")

	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledProcessConverges$")
	cmd.Env = append(os.Environ(), envChild+"=1", envURL+"="+srv.ZoneLookupURL(), envCode+"="+cr.IntegrationCode,
		envUser+"="+cr.Username, envSecret+"="+cr.Secret, envDB+"="+db, envCompany+"="+strconv.FormatInt(company, 10))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	// Kill it once a third of the contacts exist.
	deadline := time.After(2 * time.Minute)
	for srv.ContactCount() < users/3 {
		select {
		case err := <-exited:
			t.Fatalf("the child finished before it could be killed (%v): %s", err, stderr.String())
		case <-deadline:
			t.Fatalf("the child made %d contacts in 2 minutes: %s", srv.ContactCount(), stderr.String())
		case <-time.After(2 * time.Millisecond):
		}
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	<-exited
	// Requests the child sent before it died may still be committing, as
	// they would on a real server: wait until the count settles.
	killedAt := srv.ContactCount()
	for {
		time.Sleep(50 * time.Millisecond)
		n := srv.ContactCount()
		if n == killedAt {
			break
		}
		killedAt = n
	}
	t.Logf("killed with %d of %d contacts created", killedAt, users)
	require.Less(t, killedAt, users, "the child was killed before it finished")

	srv.SetLatency(0)
	// A restart at once: the creates the dead process journaled but may
	// not have sent wait (R-RUN-7): the read is too soon to show they were
	// never made. Nothing is created twice.
	s, hist, err := syncer(ctx, srv.ZoneLookupURL(), cr.IntegrationCode, cr.Username, cr.Secret, db, 0)
	require.NoError(t, err)
	t.Cleanup(func() { hist.Close() })
	run, err := s.Sync(ctx, org(company), adsync.TriggerScheduled)
	require.NoError(t, err)
	waiting := 0
	for _, sk := range run.Skips {
		if sk.Rule == "R-RUN-7" {
			waiting++
		}
	}
	assert.Equal(t, users, run.Counts.Created+waiting, "R-RUN-7 each user's contact is found (and counted), created, or waits")
	runs, err := hist.Runs(ctx, "customer", 0)
	require.NoError(t, err)
	require.Len(t, runs, 2)
	assert.Equal(t, adsync.StatusInterrupted, runs[1].Status, "the killed run is marked interrupted")
	assert.Equal(t, adsync.StatusSucceeded, runs[0].Status)

	// A run past the journal's grace settles them.
	s, hist2, err := syncer(ctx, srv.ZoneLookupURL(), cr.IntegrationCode, cr.Username, cr.Secret, db, adsync.DefaultJournalGrace+time.Minute)
	require.NoError(t, err)
	t.Cleanup(func() { hist2.Close() })
	run, err = s.Sync(ctx, org(company), adsync.TriggerScheduled)
	require.NoError(t, err)
	assert.Equal(t, waiting, run.Counts.Created, "the waiting users are created once the grace is past")

	emails := map[string]int{}
	for _, c := range srv.Contacts(company) {
		emails[fmt.Sprint(c["emailAddress"])]++
	}
	assert.Len(t, emails, users, "one contact per user")
	for e, n := range emails {
		assert.Equal(t, 1, n, "no duplicate contact for %s", e)
	}
	links, err := hist.Links(ctx, "customer")
	require.NoError(t, err)
	assert.Len(t, links, users)
	for _, l := range links {
		assert.False(t, l.Pending, "no create left journaled for %s", l.UserID)
	}

	again, err := s.Sync(ctx, org(company), adsync.TriggerScheduled)
	require.NoError(t, err)
	assert.Zero(t, again.Counts.Writes(), "R-RUN-8 and then nothing more to do")
}
