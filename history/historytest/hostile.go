package historytest

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/contacts"
	"github.com/psasync/adsync/internal/conform"
	"github.com/psasync/adsync/matcher"
	"github.com/psasync/adsync/merge"
	"github.com/psasync/adsync/source/sourcetest"
)

// TestHostileText runs two syncs through a Syncer on the store with users
// whose directory text is hostile: NUL bytes, bytes that are not UTF-8
// (Latin-1, as older directories hold), a 1 MB display name. The Syncer
// cleans such text before any store sees it (R-FIELD-8), so every store
// must record both runs, their links and their conflicts, and the second
// run must write nothing (R-RUN-8). A store that refused such text used to
// fail every run of the organization, or leave a run running forever.
func TestHostileText(t *testing.T, h adsync.HistoryStore) {
	conform.Contract(t, ruleHostile)
	ctx := t.Context()
	const company = 100
	clock := time.Date(2026, 11, 2, 3, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }
	store := contacts.NewMemory(&contacts.MemoryOptions{Now: now})
	store.AddCompany(company, "Contoso")
	src := sourcetest.NewMemory(nil)
	mk := func(id, first, last, email string) adsync.User {
		u := adsync.User{ID: id, Enabled: true}
		u.Values[adsync.FirstName], u.Values[adsync.LastName], u.Values[adsync.Email] = first, last, email
		return u
	}
	big := mk("u3", "Big", "Name", "big@x.example")
	big.Name = strings.Repeat("\xe9", 1<<20)
	src.Put(
		mk("u1", "Jos\xe9", "N\x00ull", "jose@x.example"),
		mk("u2\x00", "Ann\xff", "Lee", "ann@x.example"),
		big,
		// Two users with one email: a conflict whose labels are hostile.
		mk("u4", "D\xfcp", "One", "dup@x.example"), mk("u5", "D\x00up", "Two", "dup@x.example"),
	)
	s, err := adsync.NewSyncer(adsync.Options{Store: store, History: h, Matcher: matcher.New(nil), Fields: merge.New, Clock: fixedClock{&clock}})
	require.NoError(t, err)
	org := adsync.Org{Config: adsync.OrgConfig{ID: "hostile", CompanyID: company, Enabled: true, Directory: adsync.DirectoryLDAP}, Source: src}

	run, err := s.Sync(ctx, org, adsync.TriggerForced)
	require.NoError(t, err, "R-FIELD-8 a run with hostile directory text succeeds")
	assert.Equal(t, 3, run.Counts.Created)
	assert.Equal(t, 2, run.Counts.Conflicts)
	clock = clock.Add(time.Hour)
	run, err = s.Sync(ctx, org, adsync.TriggerForced)
	require.NoError(t, err)
	assert.Zero(t, run.Counts.Writes(), "R-RUN-8 the second run writes nothing")

	runs, err := h.Runs(ctx, "hostile", 0)
	require.NoError(t, err)
	require.Len(t, runs, 2)
	for _, r := range runs {
		assert.Equal(t, adsync.StatusSucceeded, r.Status, "R-RUN-4 run %d recorded", r.ID)
	}
	links, err := h.Links(ctx, "hostile")
	require.NoError(t, err)
	assert.Len(t, links, 3)
	cs, err := h.Conflicts(ctx, "hostile")
	require.NoError(t, err)
	assert.Len(t, cs, 2)
}

const ruleHostile = "HistoryStore: text is valid UTF-8 without NUL bytes, the Syncer cleaning what the directory returns (R-FIELD-8), so a store records every run, link and conflict of users with hostile directory text"

// fixedClock reads the time from a variable the test moves.
type fixedClock struct{ t *time.Time }

func (c fixedClock) Now() time.Time { return *c.t }

// NewTimer never fires: no Scheduler runs on this clock.
func (c fixedClock) NewTimer(time.Duration) (<-chan time.Time, func() bool) {
	return make(chan time.Time), func() bool { return true }
}
