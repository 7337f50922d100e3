package history

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/history/internal/record"
)

// Memory is a HistoryStore that keeps everything in memory, for tests and
// one-off runs: its history is lost when the process ends. Its lock holds
// within the process only. The zero value is not usable; call NewMemory.
type Memory struct {
	mu          sync.Mutex
	lastID      int64
	runs        map[string][]adsync.Run // per organization, ascending ID
	links       map[string]map[string]adsync.Link
	exemptions  map[string]map[int64]adsync.Exemption // org → contact → exemption
	changes     map[int64][]adsync.ChangeRecord       // per run id, ascending seq
	conflicts   map[string][]adsync.Conflict
	resolutions map[string]map[string]adsync.Resolution
	locks       map[string]bool
	notices     map[[2]string]notice // by organization and key
}

// notice is the recorded state of a notice.
type notice struct {
	state  string
	sentAt time.Time
}

var (
	_ adsync.HistoryStore = (*Memory)(nil)
)

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory {
	return &Memory{
		runs:        map[string][]adsync.Run{},
		links:       map[string]map[string]adsync.Link{},
		exemptions:  map[string]map[int64]adsync.Exemption{},
		changes:     map[int64][]adsync.ChangeRecord{},
		conflicts:   map[string][]adsync.Conflict{},
		resolutions: map[string]map[string]adsync.Resolution{},
		locks:       map[string]bool{},
		notices:     map[[2]string]notice{},
	}
}

// StartRun records r with the next ID.
func (m *Memory) StartRun(ctx context.Context, r adsync.Run) (adsync.Run, error) {
	if err := ctx.Err(); err != nil {
		return adsync.Run{}, err
	}
	if err := record.CheckOrg("start run", r.OrgID); err != nil {
		return adsync.Run{}, err
	}
	r = record.CopyRun(r)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lastID++
	r.ID = m.lastID
	m.runs[r.OrgID] = append(m.runs[r.OrgID], r)
	return record.CopyRun(r), nil
}

// FinishRun replaces the run and keeps the organization's newest KeepRuns.
func (m *Memory) FinishRun(ctx context.Context, r adsync.Run) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	runs := m.runs[r.OrgID]
	i := slices.IndexFunc(runs, func(x adsync.Run) bool { return x.ID == r.ID })
	if i < 0 {
		return fmt.Errorf("history: finish run %d of organization %q: %w", r.ID, r.OrgID, adsync.ErrNotFound)
	}
	runs[i] = record.CopyRun(r)
	if n := len(runs); n > adsync.KeepRuns {
		for _, old := range runs[:n-adsync.KeepRuns] {
			delete(m.changes, old.ID) // the log goes with its run
		}
		runs = slices.Delete(runs, 0, n-adsync.KeepRuns)
	}
	m.runs[r.OrgID] = runs
	return nil
}

// Runs returns the organization's runs, newest first, at most limit.
func (m *Memory) Runs(ctx context.Context, orgID string, limit int) ([]adsync.Run, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	runs := m.runs[orgID]
	n := len(runs)
	if limit > 0 && limit < n {
		n = limit
	}
	out := make([]adsync.Run, 0, n)
	for i := len(runs) - 1; i >= 0 && len(out) < n; i-- {
		out = append(out, record.CopyRun(runs[i]))
	}
	return out, nil
}

// Run returns one kept run.
func (m *Memory) Run(ctx context.Context, orgID string, id int64) (adsync.Run, error) {
	if err := ctx.Err(); err != nil {
		return adsync.Run{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.runs[orgID] {
		if r.ID == id {
			return record.CopyRun(r), nil
		}
	}
	return adsync.Run{}, fmt.Errorf("history: run %d of organization %q: %w", id, orgID, adsync.ErrNotFound)
}

// InterruptRuns marks every running run as interrupted (R-RUN-7).
func (m *Memory) InterruptRuns(ctx context.Context, now time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	now = record.UTC(now)
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, runs := range m.runs {
		for i := range runs {
			if runs[i].Status == adsync.StatusRunning {
				runs[i].Status, runs[i].Ended = adsync.StatusInterrupted, now
				n++
			}
		}
	}
	return n, nil
}

// Links returns the organization's links.
func (m *Memory) Links(ctx context.Context, orgID string) ([]adsync.Link, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	links := m.links[orgID]
	out := make([]adsync.Link, 0, len(links))
	for _, l := range links {
		out = append(out, record.CopyLink(l))
	}
	return out, nil
}

// PutLinks inserts or replaces links. A link whose OrgID is set to another
// organization, or without a UserID, is refused and nothing is written.
func (m *Memory) PutLinks(ctx context.Context, orgID string, links []adsync.Link) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := record.CheckOrg("put links", orgID); err != nil {
		return err
	}
	copies, err := copyLinks(orgID, links)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.putLinks(orgID, copies)
	return nil
}

// copyLinks checks that links are of the organization and copies them.
func copyLinks(orgID string, links []adsync.Link) ([]adsync.Link, error) {
	copies := make([]adsync.Link, len(links))
	for i, l := range links {
		if err := record.CheckMember("put links", orgID, l.OrgID, l.UserID); err != nil {
			return nil, err
		}
		copies[i] = record.CopyLink(l)
		copies[i].OrgID = orgID
	}
	return copies, nil
}

// putLinks stores copied links; m.mu is held.
func (m *Memory) putLinks(orgID string, copies []adsync.Link) {
	org := m.links[orgID]
	if org == nil {
		org = make(map[string]adsync.Link, len(copies))
		m.links[orgID] = org
	}
	for _, l := range copies {
		org[l.UserID] = l
	}
}

// PutChanges records the run's change records and puts the links, in one
// step under the store's lock.
func (m *Memory) PutChanges(ctx context.Context, orgID string, runID int64, changes []adsync.ChangeRecord, links []adsync.Link) error {
	return m.putChanges(ctx, orgID, runID, adsync.Written{}, changes, links)
}

// PutOutcomes marks the batch's records written, records the other
// outcomes and puts the links, in one step under the store's lock.
func (m *Memory) PutOutcomes(ctx context.Context, orgID string, runID int64, w adsync.Written, changes []adsync.ChangeRecord, links []adsync.Link) error {
	if err := w.Validate(); err != nil {
		return fmt.Errorf("history: put outcomes of run %d of organization %q: %w", runID, orgID, err)
	}
	return m.putChanges(ctx, orgID, runID, w, changes, links)
}

func (m *Memory) putChanges(ctx context.Context, orgID string, runID int64, w adsync.Written, changes []adsync.ChangeRecord, links []adsync.Link) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := record.CheckChanges(orgID, runID, changes); err != nil {
		return err
	}
	copies, err := copyLinks(orgID, links)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !slices.ContainsFunc(m.runs[orgID], func(r adsync.Run) bool { return r.ID == runID }) {
		return fmt.Errorf("history: put changes of run %d of organization %q: %w", runID, orgID, adsync.ErrNotFound)
	}
	log := m.changes[runID]
	for i := range log {
		if w.Covers(&log[i]) {
			log[i].Outcome, log[i].At = adsync.OutcomeWritten, record.UTC(w.At)
		}
	}
	for _, c := range changes {
		c = record.CopyChange(c)
		c.OrgID, c.RunID = orgID, runID
		// The Syncer puts seqs in ascending order: appends, and replaces of
		// the batch just logged.
		i, found := slices.BinarySearchFunc(log, c.Seq, func(x adsync.ChangeRecord, seq int) int { return x.Seq - seq })
		if found {
			log[i] = c
		} else {
			log = slices.Insert(log, i, c)
		}
	}
	m.changes[runID] = log
	m.putLinks(orgID, copies)
	return nil
}

// Changes returns a page of the organization's change records.
func (m *Memory) Changes(ctx context.Context, orgID string, f adsync.ChangeFilter) ([]adsync.ChangeRecord, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []adsync.ChangeRecord
	for _, r := range m.runs[orgID] { // ascending ids
		if f.RunID != 0 && r.ID != f.RunID || r.ID < f.AfterRun {
			continue
		}
		for _, c := range m.changes[r.ID] {
			if f.Match(&c) {
				out = append(out, record.CopyChange(c))
				if len(out) == f.PageSize() {
					return out, nil
				}
			}
		}
	}
	return out, nil
}

// DeleteLinks removes the users' links; missing ones are ignored.
func (m *Memory) DeleteLinks(ctx context.Context, orgID string, userIDs []string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, u := range userIDs {
		delete(m.links[orgID], u)
	}
	return nil
}

// Conflicts returns the organization's open conflicts.
func (m *Memory) Conflicts(ctx context.Context, orgID string) ([]adsync.Conflict, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	cs := m.conflicts[orgID]
	out := make([]adsync.Conflict, len(cs))
	for i, c := range cs {
		out[i] = record.CopyConflict(c)
	}
	return out, nil
}

// ReplaceConflicts makes cs the organization's open conflicts (R-CONF-5).
// A user appearing twice in cs keeps the last one.
func (m *Memory) ReplaceConflicts(ctx context.Context, orgID string, cs []adsync.Conflict) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := record.CheckOrg("replace conflicts", orgID); err != nil {
		return err
	}
	out := make([]adsync.Conflict, 0, len(cs))
	at := make(map[string]int, len(cs))
	for _, c := range cs {
		if err := record.CheckMember("replace conflicts", orgID, c.OrgID, c.UserID); err != nil {
			return err
		}
		c = record.CopyConflict(c)
		c.OrgID = orgID
		if i, ok := at[c.UserID]; ok {
			out[i] = c
			continue
		}
		at[c.UserID] = len(out)
		out = append(out, c)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(out) == 0 {
		delete(m.conflicts, orgID)
	} else {
		m.conflicts[orgID] = out
	}
	return nil
}

// Resolutions returns the organization's resolutions.
func (m *Memory) Resolutions(ctx context.Context, orgID string) ([]adsync.Resolution, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return valuesOf(m.resolutions[orgID]), nil
}

// PutResolution inserts or replaces the user's resolution.
func (m *Memory) PutResolution(ctx context.Context, r adsync.Resolution) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := record.CheckResolution(r); err != nil {
		return err
	}
	r = record.CopyResolution(r)
	m.mu.Lock()
	defer m.mu.Unlock()
	putIn(m.resolutions, r.OrgID, r.UserID, r)
	return nil
}

// DeleteResolution removes the user's resolution; ErrNotFound if none.
func (m *Memory) DeleteResolution(ctx context.Context, orgID, userID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.resolutions[orgID][userID]; !ok {
		return fmt.Errorf("history: resolution for user %q of organization %q: %w", userID, orgID, adsync.ErrNotFound)
	}
	delete(m.resolutions[orgID], userID)
	return nil
}

// TryLock takes the organization's lock within this process: a Memory is
// never shared with another process, so that is all R-RUN-5 asks of it.
func (m *Memory) TryLock(ctx context.Context, orgID string) (adsync.Lock, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.locks[orgID] {
		return nil, fmt.Errorf("history: lock organization %q: %w", orgID, adsync.ErrRunInProgress)
	}
	m.locks[orgID] = true
	return &memLock{m: m, orgID: orgID}, nil
}

// memLock is a lock of a Memory store.
type memLock struct {
	m     *Memory
	orgID string
	once  sync.Once
	done  atomic.Bool
}

// Held reports ErrLockLost once the lock was released.
func (l *memLock) Held(ctx context.Context) error {
	if l.done.Load() {
		return fmt.Errorf("history: organization %q: %w: it was unlocked", l.orgID, adsync.ErrLockLost)
	}
	return nil
}

// Unlock releases the lock; later calls do nothing.
func (l *memLock) Unlock() {
	l.once.Do(func() {
		l.done.Store(true)
		l.m.mu.Lock()
		delete(l.m.locks, l.orgID)
		l.m.mu.Unlock()
	})
}

// ClaimNotice records the notice's state and says whether to send it; the
// store's mutex makes the claim atomic.
func (m *Memory) ClaimNotice(ctx context.Context, orgID, key, state string, now time.Time, remindAfter time.Duration) (string, bool, error) {
	if err := ctx.Err(); err != nil {
		return "", false, err
	}
	if err := record.CheckNotice(orgID, key, state); err != nil {
		return "", false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := [2]string{orgID, key}
	prev := m.notices[k]
	if !record.ShouldSend(prev.state, prev.sentAt, state, now, remindAfter) {
		return prev.state, false, nil
	}
	m.notices[k] = notice{state: state, sentAt: now.UTC()}
	return prev.state, true, nil
}

// Exemptions returns the organization's exempt contacts (R-DEACT-9).
func (m *Memory) Exemptions(ctx context.Context, orgID string) ([]adsync.Exemption, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return valuesOf(m.exemptions[orgID]), nil
}

// PutExemption inserts or replaces the contact's exemption.
func (m *Memory) PutExemption(ctx context.Context, e adsync.Exemption) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := record.CheckExemption(e); err != nil {
		return err
	}
	e = record.CopyExemption(e)
	m.mu.Lock()
	defer m.mu.Unlock()
	putIn(m.exemptions, e.OrgID, e.ContactID, e)
	return nil
}

// DeleteExemption removes the contact's exemption; ErrNotFound if none.
func (m *Memory) DeleteExemption(ctx context.Context, orgID string, contactID int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.exemptions[orgID][contactID]; !ok {
		return fmt.Errorf("history: exemption of contact %d of organization %q: %w", contactID, orgID, adsync.ErrNotFound)
	}
	delete(m.exemptions[orgID], contactID)
	return nil
}

// valuesOf returns the values of an organization's map, never nil.
func valuesOf[K comparable, V any](m map[K]V) []V {
	out := make([]V, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// putIn sets v under org and k, making org's map when it has none.
func putIn[K comparable, V any](byOrg map[string]map[K]V, org string, k K, v V) {
	m := byOrg[org]
	if m == nil {
		m = map[K]V{}
		byOrg[org] = m
	}
	m[k] = v
}
