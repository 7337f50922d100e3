package adsync_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/contacts"
	"github.com/psasync/adsync/history"
	"github.com/psasync/adsync/matcher"
	"github.com/psasync/adsync/merge"
	"github.com/psasync/adsync/source/sourcetest"
)

const (
	company      = 100
	otherCompany = 200
)

// env is one organization wired to in-memory ends.
type env struct {
	t       testing.TB
	ctx     context.Context
	store   *contacts.Memory
	hist    *history.Memory
	src     *sourcetest.Memory
	syncer  *adsync.Syncer
	org     adsync.Org
	clock   *fakeClock
	opts    adsync.Options
	storeIf adsync.ContactStore // what the syncer writes to (a wrapper, sometimes)
}

type envOption func(*env)

func withStore(wrap func(*contacts.Memory) adsync.ContactStore) envOption {
	return func(e *env) { e.storeIf = wrap(e.store) }
}

func withConfig(f func(*adsync.OrgConfig)) envOption {
	return func(e *env) { f(&e.org.Config) }
}

func withSyncerOptions(f func(*adsync.Options)) envOption {
	return func(e *env) { f(&e.opts) }
}

func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	clk := newFakeClock(time.Date(2026, 11, 2, 3, 0, 0, 0, time.UTC))
	e := &env{t: t, ctx: context.Background(), clock: clk,
		store: contacts.NewMemory(&contacts.MemoryOptions{Now: clk.Now}),
		hist:  history.NewMemory(),
		src:   sourcetest.NewMemory(nil),
	}
	e.store.AddCompany(company, "Contoso")
	e.store.AddCompany(otherCompany, "Fabrikam")
	e.storeIf = e.store
	e.org = adsync.Org{Config: adsync.OrgConfig{ID: "contoso", CompanyID: company, Enabled: true, Directory: adsync.DirectoryLDAP}}
	e.opts = adsync.Options{History: e.hist, Matcher: matcher.New(nil), Fields: merge.New, Clock: clk}
	for _, o := range opts {
		o(e)
	}
	e.org.Source = e.src
	e.opts.Store = e.storeIf
	s, err := adsync.NewSyncer(e.opts)
	require.NoError(t, err)
	e.syncer = s
	return e
}

func (e *env) sync() (adsync.Run, error) {
	e.t.Helper()
	e.clock.Advance(time.Minute)
	return e.syncer.Sync(e.ctx, e.org, adsync.TriggerForced)
}

func (e *env) mustSync() adsync.Run {
	e.t.Helper()
	run, err := e.sync()
	require.NoError(e.t, err)
	return run
}

// seed puts a contact in the company and returns its id.
func (e *env) seed(first, last, email string, active bool) int64 {
	var v adsync.Values
	v[adsync.FirstName], v[adsync.LastName], v[adsync.Email] = first, last, email
	return e.store.Seed(adsync.Contact{CompanyID: company, Active: active, Values: v})
}

func (e *env) contact(id int64) adsync.Contact {
	e.t.Helper()
	c, ok := e.store.Contact(id)
	require.True(e.t, ok, "contact %d exists", id)
	return c
}

func (e *env) contacts() []adsync.Contact { return e.store.All(company) }

func (e *env) links() map[string]adsync.Link {
	e.t.Helper()
	ls, err := e.opts.History.Links(e.ctx, e.org.Config.ID)
	require.NoError(e.t, err)
	m := map[string]adsync.Link{}
	for _, l := range ls {
		m[l.UserID] = l
	}
	return m
}

func (e *env) conflicts() []adsync.Conflict {
	e.t.Helper()
	cs, err := e.hist.Conflicts(e.ctx, e.org.Config.ID)
	require.NoError(e.t, err)
	return cs
}

func (e *env) writes() int64 { return e.store.Counts().Writes() }

// user builds a directory user.
func user(id, first, last, email string) adsync.User {
	u := adsync.User{ID: id, Enabled: true}
	u.Values[adsync.FirstName], u.Values[adsync.LastName], u.Values[adsync.Email] = first, last, email
	return u
}

func with(u adsync.User, f adsync.Field, v string) adsync.User {
	u.Values[f] = v
	return u
}

// fakeClock is an adsync.Clock for tests: time moves only by Advance.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	at time.Time
	c  chan time.Time
}

func newFakeClock(t time.Time) *fakeClock { return &fakeClock{now: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{at: c.now.Add(d), c: make(chan time.Time, 1)}
	if d <= 0 {
		t.c <- c.now
		return t.c, func() bool { return false }
	}
	c.timers = append(c.timers, t)
	return t.c, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for i, x := range c.timers {
			if x == t {
				c.timers = append(c.timers[:i], c.timers[i+1:]...)
				return true
			}
		}
		return false
	}
}

// Advance moves the clock and fires the timers that are due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	keep := c.timers[:0]
	for _, t := range c.timers {
		if !t.at.After(c.now) {
			t.c <- c.now
		} else {
			keep = append(keep, t)
		}
	}
	c.timers = keep
}

// Timers returns the number of timers waiting.
func (c *fakeClock) Timers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// state is the Autotask side of a company in a comparable form that does
// not depend on contact ids (creates run concurrently, so ids may differ
// between two runs of one scenario): each contact's values and active flag,
// sorted.
func state(cs []adsync.Contact) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = fmt.Sprintf("active=%v %q", c.Active, c.Values)
	}
	sort.Strings(out)
	return out
}
