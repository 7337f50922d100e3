package sourcetest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/source/sourcetest"
)

func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts *sourcetest.MemoryOptions
	}{
		{"default", nil},
		{"pages of 7", &sourcetest.MemoryOptions{PageSize: 7}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sourcetest.Run(t, func(t *testing.T) sourcetest.Harness {
				return sourcetest.MemoryHarness(sourcetest.NewMemory(tc.opts), nil)
			})
		})
	}
}

// A source without the incremental capability: its subtest skips.
func TestConformanceNotIncremental(t *testing.T) {
	sourcetest.Run(t, func(t *testing.T) sourcetest.Harness {
		m := sourcetest.NewMemory(nil)
		return sourcetest.MemoryHarness(m, struct{ adsync.DirectorySource }{m})
	})
}

func user(first, last string) adsync.User {
	u := adsync.User{Enabled: true}
	u.Values[adsync.FirstName], u.Values[adsync.LastName] = first, last
	return u
}

func readIDs(t *testing.T, read func(func([]adsync.User) error) error) ([]string, []int, error) {
	t.Helper()
	var ids []string
	var sizes []int
	err := read(func(p []adsync.User) error {
		sizes = append(sizes, len(p))
		for _, u := range p {
			ids = append(ids, u.ID)
		}
		return nil
	})
	return ids, sizes, err
}

func TestMemoryUsersSortedAndPaged(t *testing.T) {
	m := sourcetest.NewMemory(&sourcetest.MemoryOptions{PageSize: 2})
	assert.Panics(t, func() { m.Put(adsync.User{}) }, "Put needs an id (Add assigns one)")
	u := user("C", "c")
	u.ID = "c"
	v := user("A", "a")
	v.ID = "a"
	w := user("B", "b")
	w.ID = "b"
	m.Put(u, v, w)
	ids, sizes, err := readIDs(t, func(p func([]adsync.User) error) error { return m.Users(context.Background(), p) })
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b", "c"}, ids, "users are read sorted by id")
	assert.Equal(t, []int{2, 1}, sizes)
	assert.Equal(t, sourcetest.Counts{FullReads: 1, Pages: 2}, m.Counts())
	assert.Equal(t, 3, m.Len())
}

func TestMemoryIncrementalExact(t *testing.T) {
	ctx := context.Background()
	m := sourcetest.NewMemory(nil)
	a, b, c := m.Add(user("A", "a")), m.Add(user("B", "b")), m.Add(user("C", "c"))
	since := func(cursor string) ([]string, string) {
		t.Helper()
		var next string
		ids, _, err := readIDs(t, func(p func([]adsync.User) error) error {
			var err error
			next, err = m.UsersSince(ctx, cursor, p)
			return err
		})
		require.NoError(t, err)
		require.NotEmpty(t, next)
		return ids, next
	}
	ids, c1 := since("")
	assert.Equal(t, []string{a, b, c}, ids)

	ids, c2 := since(c1)
	assert.Empty(t, ids, "nothing changed")

	var v adsync.Values
	v[adsync.Title] = "CEO"
	require.NoError(t, m.Update(b, adsync.NewFieldSet(adsync.Title), v))
	d := m.Add(user("D", "d"))
	require.NoError(t, m.SetInScope(c, false))
	ids, c3 := since(c2)
	assert.Equal(t, []string{b, d}, ids, "exactly the changed and created users; one that left scope is not reported")
	got, _ := m.User(b)
	assert.Equal(t, "CEO", got.Values[adsync.Title])

	require.NoError(t, m.SetEnabled(a, false))
	var disabled []adsync.User
	c4, err := m.UsersSince(ctx, c3, func(us []adsync.User) error { disabled = append(disabled, us...); return nil })
	require.NoError(t, err)
	require.Len(t, disabled, 1, "R-SCOPE-8 an incremental read delivers a user disabled since the cursor")
	assert.Equal(t, a, disabled[0].ID)
	assert.False(t, disabled[0].Enabled)
	ids, _ = since("")
	assert.Contains(t, ids, a, "R-SCOPE-8 a full read delivers disabled users too (with Enabled=false)")
	require.NoError(t, m.SetEnabled(a, true))
	ids, _ = since(c4)
	assert.Equal(t, []string{a}, ids, "a user enabled again is changed")

	assert.Equal(t, sourcetest.Counts{FullReads: 2, IncrementalReads: 4, Pages: 5}, m.Counts())

	require.ErrorIs(t, m.SetEnabled("nobody", true), adsync.ErrNotFound)
}

func TestMemoryExpireCursors(t *testing.T) {
	ctx := context.Background()
	m := sourcetest.NewMemory(nil)
	m.Add(user("A", "a"))
	noop := func([]adsync.User) error { return nil }
	c1, err := m.UsersSince(ctx, "", noop)
	require.NoError(t, err)
	m.ExpireCursors()
	_, err = m.UsersSince(ctx, c1, noop)
	require.ErrorIs(t, err, adsync.ErrCursorExpired)
	c2, err := m.UsersSince(ctx, "", noop)
	require.NoError(t, err, "a full read still works")
	_, err = m.UsersSince(ctx, c2, noop)
	require.NoError(t, err, "and its cursor is valid")
}

func TestMemoryFailReadAfter(t *testing.T) {
	ctx := context.Background()
	m := sourcetest.NewMemory(&sourcetest.MemoryOptions{PageSize: 2})
	for i := range 5 {
		m.Add(user("U", fmt.Sprint(i)))
	}
	m.FailReadAfter(2, nil)
	ids, sizes, err := readIDs(t, func(p func([]adsync.User) error) error { return m.Users(ctx, p) })
	require.ErrorIs(t, err, adsync.ErrUnavailable, "R-DEACT-3 a read cut short returns an error")
	assert.Equal(t, []int{2, 2}, sizes, "the pages before the failure are delivered")
	assert.Len(t, ids, 4)

	_, err = m.UsersSince(ctx, "", func([]adsync.User) error { return nil })
	require.ErrorIs(t, err, adsync.ErrUnavailable, "the fault lasts, and applies to incremental reads too")

	m.FailReadAfter(9, nil)
	_, sizes, err = readIDs(t, func(p func([]adsync.User) error) error { return m.Users(ctx, p) })
	require.ErrorIs(t, err, adsync.ErrUnavailable, "R-DEACT-3 the read fails even when all pages came before the fault")
	assert.Equal(t, []int{2, 2, 1}, sizes)

	boom := errors.New("boom")
	empty := sourcetest.NewMemory(nil)
	empty.FailReadAfter(0, boom)
	require.ErrorIs(t, empty.Users(ctx, func([]adsync.User) error { return nil }), boom, "an empty directory's read fails too")

	m.ClearFaults()
	_, _, err = readIDs(t, func(p func([]adsync.User) error) error { return m.Users(ctx, p) })
	require.NoError(t, err)
}

func TestMemoryCheck(t *testing.T) {
	ctx := context.Background()
	st, err := sourcetest.NewMemory(nil).Check(ctx)
	require.NoError(t, err)
	assert.Equal(t, adsync.TLSNotApplicable, st.TLS)

	m := sourcetest.NewMemory(&sourcetest.MemoryOptions{Status: adsync.ConnStatus{TLS: adsync.TLSExpiring, Detail: "dc1"}})
	st, err = m.Check(ctx)
	require.NoError(t, err)
	assert.Equal(t, adsync.ConnStatus{TLS: adsync.TLSExpiring, Detail: "dc1"}, st)

	m.FailCheck(fmt.Errorf("bind refused: %w", adsync.ErrUnauthorized))
	_, err = m.Check(ctx)
	require.ErrorIs(t, err, adsync.ErrUnauthorized)
	m.ClearFaults()
	_, err = m.Check(ctx)
	require.NoError(t, err)
	assert.Equal(t, 3, m.Counts().Checks)
}

// A mutant is a Memory with one rule of the contract broken.
type mutant struct {
	*sourcetest.Memory
	bigPages     bool // one page for everything (over 500)
	dupes        bool // the first user delivered twice
	ignoreCtx    bool // never checks ctx
	ignoreErr    bool // ignores page errors
	allSince     bool // UsersSince is always a full read
	dropValues   bool // City is not delivered
	disabledOn   bool // disabled users delivered with Enabled=true
	disabledOut  bool // disabled users left out (the policy applied by the source)
	outOfScope   bool // users out of scope still read
	unstableIDs  bool // ids change with every read
	nilOnCursor  bool // an unknown cursor is taken for a full read
	emptyPage    bool // an empty scope is read as one empty page
	badTLSStatus bool // Check reports TLSUnknown
	reads        int
}

var mutants = map[string]struct {
	m    mutant
	want string
}{
	"big pages":          {mutant{bigPages: true}, "contract: DirectorySource.Users: calls page with 1 to adsync.MaxPageSize"},
	"duplicates":         {mutant{dupes: true}, "contract: DirectorySource.Users: each in-scope user appears once per read"},
	"context ignored":    {mutant{ignoreCtx: true}, "a cancelled read returns an error wrapping context.Canceled, never nil (R-DEACT-3)"},
	"page error ignored": {mutant{ignoreErr: true}, "contract: DirectorySource.Users: if page returns an error, Users stops"},
	"since is full":      {mutant{allSince: true}, "contract: IncrementalSource.UsersSince: delivers the users created or changed"},
	"values dropped":     {mutant{dropValues: true}, "city: got \"\", want \"Berlin\""},
	"disabled enabled":   {mutant{disabledOn: true}, "(R-SCOPE-8)"},
	"disabled left out":  {mutant{disabledOut: true}, "was disabled and was not delivered"},
	"scope ignored":      {mutant{outOfScope: true}, "contract: DirectorySource.Users: reads every in-scope user, and no other"},
	"unstable ids":       {mutant{unstableIDs: true}, "(R-LINK-1)"},
	"cursor not checked": {mutant{nilOnCursor: true}, "adsync.ErrCursorExpired"},
	"empty page":         {mutant{emptyPage: true}, "contract: DirectorySource.Users: page is never called with an empty page"},
	"TLS unknown":        {mutant{badTLSStatus: true}, "contract: DirectorySource.Check: returns nil and a TLS status other than TLSUnknown"},
}

func (m *mutant) Check(ctx context.Context) (adsync.ConnStatus, error) {
	st, err := m.Memory.Check(ctx)
	if m.badTLSStatus {
		st.TLS = adsync.TLSUnknown
	}
	return st, err
}

func (m *mutant) Users(ctx context.Context, page func([]adsync.User) error) error {
	_, err := m.UsersSince(ctx, "", page)
	return err
}

func (m *mutant) UsersSince(ctx context.Context, cursor string, page func([]adsync.User) error) (string, error) {
	if m.ignoreCtx {
		ctx = context.Background()
	}
	if m.allSince || m.nilOnCursor {
		cursor = ""
	}
	m.reads++
	var all []adsync.User
	next, err := m.Memory.UsersSince(ctx, cursor, func(p []adsync.User) error {
		for _, u := range p {
			if m.dropValues {
				u.Values[adsync.City] = ""
			}
			if m.disabledOut && !u.Enabled {
				continue
			}
			if m.unstableIDs {
				u.ID = fmt.Sprintf("%s-%d", u.ID, m.reads)
			}
			all = append(all, u)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	if m.dupes && len(all) > 0 {
		all = append(all, all[0])
	}
	if m.emptyPage && len(all) == 0 {
		return next, page(nil)
	}
	size := 500
	if m.bigPages {
		size = len(all) + 1
	}
	for len(all) > 0 {
		p := all[:min(size, len(all))]
		all = all[len(p):]
		if err := page(p); err != nil && !m.ignoreErr {
			return "", err
		}
		if err := ctx.Err(); err != nil {
			return "", err
		}
	}
	return next, nil
}

// mutantHarness makes the harness's edits invisible where a mutant needs
// them to be.
type mutantHarness struct {
	sourcetest.Harness
	m  *sourcetest.Memory
	mu *mutant
}

func (h *mutantHarness) SetEnabled(ctx context.Context, id string, on bool) error {
	if h.mu.disabledOn {
		u, _ := h.m.User(id)
		if !on {
			u.Enabled = true // a source that reads the flag wrongly
			h.m.Put(u)
			return nil
		}
	}
	return h.Harness.SetEnabled(ctx, id, on)
}

func (h *mutantHarness) RemoveFromScope(ctx context.Context, id string) error {
	if h.mu.outOfScope {
		return nil // a source that ignores the group
	}
	return h.Harness.RemoveFromScope(ctx, id)
}

func TestMutant(t *testing.T) {
	name := os.Getenv("SOURCETEST_MUTANT")
	if name == "" {
		t.Skip("run by TestSuiteCatchesBrokenSources")
	}
	sourcetest.Run(t, func(t *testing.T) sourcetest.Harness {
		mu := mutants[name].m
		mu.Memory = sourcetest.NewMemory(nil)
		return &mutantHarness{Harness: sourcetest.MemoryHarness(mu.Memory, &mu), m: mu.Memory, mu: &mu}
	})
}

func TestSuiteCatchesBrokenSources(t *testing.T) {
	if os.Getenv("SOURCETEST_MUTANT") != "" {
		t.Skip("in a child process")
	}
	for name, mu := range mutants {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestMutant$", "-test.count=1")
			cmd.Env = append(os.Environ(), "SOURCETEST_MUTANT="+name)
			out, err := cmd.CombinedOutput()
			assert.Error(t, err, "the suite passed a source with a broken rule:\n%s", out)
			assert.Contains(t, string(out), mu.want, "the failure does not explain the broken rule")
		})
	}
}

func TestMemoryRemoveAndPutBack(t *testing.T) {
	ctx := context.Background()
	m := sourcetest.NewMemory(&sourcetest.MemoryOptions{PageSize: 2})
	u := func(id string) adsync.User { x := user("U", id); x.ID = id; return x }
	m.Put(u("b"), u("d"), u("a"), u("c"))
	m.Remove("b", "zzz")
	read := func() []string {
		ids, _, err := readIDs(t, func(p func([]adsync.User) error) error { return m.Users(ctx, p) })
		require.NoError(t, err)
		return ids
	}
	assert.Equal(t, []string{"a", "c", "d"}, read(), "a removed user is not read")
	_, ok := m.User("b")
	assert.False(t, ok)

	m.Put(u("b"))
	assert.Equal(t, []string{"a", "b", "c", "d"}, read(), "a user put back is read once")
	require.NoError(t, m.SetInScope("c", false))
	assert.Equal(t, []string{"a", "b", "d"}, read(), "R-DEACT-1 a user out of scope is not read")
	m.Put(u("c"))
	assert.Equal(t, []string{"a", "b", "c", "d"}, read(), "Put puts a user back in scope")
	assert.Equal(t, 4, m.Len())
}

// A page callback may edit the directory: the read holds no lock while it
// runs, and a user added past the current page is read once.
func TestMemoryEditDuringRead(t *testing.T) {
	ctx := context.Background()
	m := sourcetest.NewMemory(&sourcetest.MemoryOptions{PageSize: 1})
	a := m.Add(user("A", "a"))
	m.Add(user("B", "b"))
	var ids []string
	err := m.Users(ctx, func(p []adsync.User) error {
		ids = append(ids, p[0].ID)
		if p[0].ID == a {
			m.Add(user("C", "c"))
		}
		return nil
	})
	require.NoError(t, err)
	assert.Len(t, ids, 3)
}
