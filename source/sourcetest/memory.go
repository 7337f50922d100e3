package sourcetest

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/psasync/adsync"
)

// Compile-time checks.
var (
	_ adsync.DirectorySource   = (*Memory)(nil)
	_ adsync.IncrementalSource = (*Memory)(nil)
)

// MemoryOptions configure a Memory. The zero value is ready to use.
type MemoryOptions struct {
	// PageSize is the number of users per page; 0 (the default) means
	// adsync.MaxPageSize (500), and values above it are lowered to it.
	PageSize int
	// Status is what Check reports. A zero TLS means
	// adsync.TLSNotApplicable, as for Entra ID.
	Status adsync.ConnStatus
}

// Counts are the numbers of calls a Memory has served.
type Counts struct {
	FullReads        int // Users, and UsersSince with cursor ""
	IncrementalReads int // UsersSince with a cursor
	Pages            int // pages delivered by all reads
	Checks           int
}

type entry struct {
	user    adsync.User
	removed bool
	inScope bool
	changed uint64 // the change counter when the user last changed
}

// Memory is an in-memory adsync.IncrementalSource: a directory of users that
// a test edits with Put, Add, Remove, SetEnabled and SetInScope. Reads
// deliver in-scope users sorted by ID. The incremental cursor is a change
// counter: every edit bumps it and stamps the user. It is safe for
// concurrent use.
type Memory struct {
	pageSize int
	status   adsync.ConnStatus

	mu       sync.Mutex
	users    map[string]*entry
	order    []*entry // every entry of users, sorted by ID unless dirty
	dirty    bool     // order needs sorting (and pruning of removed entries)
	seq      uint64   // change counter
	epoch    uint64   // cursors of an older epoch have expired
	nextID   uint64
	counts   Counts
	failPage int   // fail reads after this many pages; -1: never
	failErr  error // the error of a failing read
	checkErr error
}

// NewMemory returns an empty directory; opts may be nil.
func NewMemory(opts *MemoryOptions) *Memory {
	var o MemoryOptions
	if opts != nil {
		o = *opts
	}
	if o.PageSize <= 0 || o.PageSize > adsync.MaxPageSize {
		o.PageSize = adsync.MaxPageSize
	}
	if o.Status.TLS == "" {
		o.Status.TLS = adsync.TLSNotApplicable
	}
	return &Memory{
		pageSize: o.PageSize,
		status:   o.Status,
		users:    make(map[string]*entry),
		failPage: -1,
	}
}

// Put adds or replaces users, keyed by ID, and puts them in scope (back in
// scope, for one taken out with SetInScope). Each counts as a change for
// incremental reads, even when its values are the same. It panics on an
// empty ID, which is a mistake in the test.
func (m *Memory) Put(users ...adsync.User) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, u := range users {
		if u.ID == "" {
			panic("sourcetest: Put: a user without an ID (use Add to have one assigned)")
		}
		m.put(u)
	}
}

func (m *Memory) put(u adsync.User) {
	m.seq++
	if e, ok := m.users[u.ID]; ok {
		*e = entry{user: u, inScope: true, changed: m.seq} // in place: order holds e
		return
	}
	// Ids added in ascending order (Add's) keep order sorted; others are
	// sorted once, by the next read.
	if n := len(m.order); n > 0 && m.order[n-1].user.ID >= u.ID {
		m.dirty = true
	}
	e := &entry{user: u, inScope: true, changed: m.seq}
	m.users[u.ID] = e
	m.order = append(m.order, e)
}

// Add adds a user in scope with a new id, ignoring u.ID, and returns the
// id: a GUID-shaped string, "00000000-0000-0000-0000-000000000001" for the
// first, so that ids sort in the order added.
func (m *Memory) Add(u adsync.User) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	for {
		m.nextID++
		u.ID = fmt.Sprintf("00000000-0000-0000-0000-%012d", m.nextID)
		if _, taken := m.users[u.ID]; !taken {
			break
		}
	}
	m.put(u)
	return u.ID
}

// User returns the user with the given id, in scope or not.
func (m *Memory) User(id string) (adsync.User, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.users[id]
	if !ok {
		return adsync.User{}, false
	}
	return e.user, true
}

// Len returns the number of users in scope, disabled ones included.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, e := range m.users {
		if e.inScope {
			n++
		}
	}
	return n
}

// edit applies fn to the user with the given id and records a change.
func (m *Memory) edit(op, id string, fn func(*entry)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.users[id]
	if !ok {
		return fmt.Errorf("sourcetest: %s: no user %q: %w", op, id, adsync.ErrNotFound)
	}
	fn(e)
	m.seq++
	e.changed = m.seq
	return nil
}

// Update sets the fields fs of the user to the values of v.
func (m *Memory) Update(id string, fs adsync.FieldSet, v adsync.Values) error {
	return m.edit("Update", id, func(e *entry) {
		for _, f := range fs.Fields() {
			e.user.Values[f] = v[f]
		}
	})
}

// SetEnabled enables or disables the user's account.
func (m *Memory) SetEnabled(id string, enabled bool) error {
	return m.edit("SetEnabled", id, func(e *entry) { e.user.Enabled = enabled })
}

// SetInScope puts the user in or out of scope (as adding it to or removing
// it from the group does) without deleting it.
func (m *Memory) SetInScope(id string, in bool) error {
	return m.edit("SetInScope", id, func(e *entry) { e.inScope = in })
}

// Remove deletes users, as deleting the accounts does; unknown ids are
// ignored. Like users taken out of scope, removed users are not reported by
// incremental reads: only a full read shows they are gone.
func (m *Memory) Remove(ids ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, id := range ids {
		if e, ok := m.users[id]; ok {
			e.removed = true
			delete(m.users, id)
			m.dirty = true // prune order on the next read
		}
	}
	m.seq++
}

// ExpireCursors makes every cursor issued so far unusable: UsersSince
// returns an error wrapping adsync.ErrCursorExpired for them, as when Graph
// forgets a delta token or an LDAP server's change log is truncated.
func (m *Memory) ExpireCursors() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.epoch++
}

// FailReadAfter makes every read fail after delivering at most pages pages
// (0: before the first), returning err, or an error wrapping adsync.ErrUnavailable when
// err is nil, as a connection lost mid-read does. It lasts until
// ClearFaults; it proves that a read cut short is never taken as complete
// (R-DEACT-3).
func (m *Memory) FailReadAfter(pages int, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err == nil {
		err = fmt.Errorf("connection to the directory lost: %w", adsync.ErrUnavailable)
	}
	m.failPage, m.failErr = pages, err
}

// FailCheck makes Check return err until ClearFaults (e.g. an error wrapping
// adsync.ErrUnauthorized or adsync.ErrTLS).
func (m *Memory) FailCheck(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.checkErr = err
}

// ClearFaults removes the faults set by FailReadAfter and FailCheck.
func (m *Memory) ClearFaults() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.failPage, m.failErr, m.checkErr = -1, nil, nil
}

// Counts returns the numbers of calls served.
func (m *Memory) Counts() Counts {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.counts
}

// Check returns the configured status, or the error set by FailCheck.
func (m *Memory) Check(ctx context.Context) (adsync.ConnStatus, error) {
	if err := ctx.Err(); err != nil {
		return adsync.ConnStatus{}, fmt.Errorf("sourcetest: check: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.counts.Checks++
	if m.checkErr != nil {
		return adsync.ConnStatus{}, fmt.Errorf("sourcetest: check: %w", m.checkErr)
	}
	return m.status, nil
}

// Users reads every in-scope user, sorted by ID.
func (m *Memory) Users(ctx context.Context, page func([]adsync.User) error) error {
	_, err := m.read(ctx, "", page)
	return err
}

// UsersSince reads the in-scope users changed since the read that returned
// cursor, or all with cursor "". Users that left scope are not reported.
func (m *Memory) UsersSince(ctx context.Context, cursor string, page func([]adsync.User) error) (string, error) {
	return m.read(ctx, cursor, page)
}

const cursorPrefix = "sourcetest:"

func (m *Memory) cursor(epoch, seq uint64) string {
	return cursorPrefix + strconv.FormatUint(epoch, 10) + ":" + strconv.FormatUint(seq, 10)
}

// parseCursor returns the change counter of a cursor of the current epoch.
func (m *Memory) parseCursor(c string) (uint64, error) {
	rest, ok := strings.CutPrefix(c, cursorPrefix)
	es, ss, ok2 := strings.Cut(rest, ":")
	epoch, err1 := strconv.ParseUint(es, 10, 64)
	seq, err2 := strconv.ParseUint(ss, 10, 64)
	switch {
	case !ok || !ok2 || err1 != nil || err2 != nil:
		return 0, fmt.Errorf("sourcetest: cursor %q was not issued by this source; do a full read: %w", c, adsync.ErrCursorExpired)
	case epoch != m.epoch || seq > m.seq:
		return 0, fmt.Errorf("sourcetest: cursor %q has expired; do a full read: %w", c, adsync.ErrCursorExpired)
	}
	return seq, nil
}

// sorted returns the entries sorted by ID, with m.mu held.
func (m *Memory) sorted() []*entry {
	if m.dirty {
		m.order = slices.DeleteFunc(m.order, func(e *entry) bool { return e.removed })
		slices.SortFunc(m.order, func(a, b *entry) int { return strings.Compare(a.user.ID, b.user.ID) })
		m.dirty = false
	}
	return m.order
}

// read pages through the users in ID order, as a paged directory search
// does: each page, taken under the lock, holds the next users after the
// last ID delivered, so page is called without the lock and may edit the
// directory. The next cursor is the change counter when the read began:
// a user changed during the read is delivered again by the next one.
func (m *Memory) read(ctx context.Context, cursor string, page func([]adsync.User) error) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("sourcetest: read users: %w", err)
	}
	m.mu.Lock()
	var since uint64
	if cursor == "" {
		m.counts.FullReads++
	} else {
		var err error
		if since, err = m.parseCursor(cursor); err != nil {
			m.mu.Unlock()
			return "", err
		}
		m.counts.IncrementalReads++
	}
	next := m.cursor(m.epoch, m.seq)
	failPage, failErr := m.failPage, m.failErr
	m.mu.Unlock()

	buf := make([]adsync.User, 0, m.pageSize)
	last, more := "", true
	n := 0
	for ; n != failPage; n++ {
		if err := ctx.Err(); err != nil {
			return "", fmt.Errorf("sourcetest: read users: before page %d: %w", n+1, err)
		}
		buf, more = m.page(buf[:0], last, since)
		if len(buf) == 0 {
			break
		}
		last = buf[len(buf)-1].ID
		if err := page(buf); err != nil {
			return "", err
		}
		if !more {
			break
		}
	}
	if failPage >= 0 {
		return "", fmt.Errorf("sourcetest: read users: failed after %d pages: %w", n, failErr)
	}
	return next, nil
}

// page appends to buf the next users to deliver after the ID last, changed
// after since, and reports whether more may follow.
func (m *Memory) page(buf []adsync.User, last string, since uint64) ([]adsync.User, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	order := m.sorted()
	i, found := slices.BinarySearchFunc(order, last, func(e *entry, id string) int { return strings.Compare(e.user.ID, id) })
	if found {
		i++
	}
	for ; i < len(order) && len(buf) < m.pageSize; i++ {
		// Disabled users are delivered with Enabled=false, as
		// adsync.DirectorySource asks (R-SCOPE-8).
		if e := order[i]; e.inScope && e.changed > since {
			buf = append(buf, e.user)
		}
	}
	if len(buf) > 0 {
		m.counts.Pages++
	}
	return buf, i < len(order)
}
