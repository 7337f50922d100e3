package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/psasync/adsync"
)

// FileStore is a HistoryStore of your own: the whole history in one JSON
// file, rewritten atomically (a temporary file renamed over it) after each
// change. It suits a few small organizations; it passes the conformance
// suite history/historytest, which is how a store proves it keeps the
// contract the Syncer relies on.
type FileStore struct {
	mu    sync.Mutex
	path  string
	d     fileData
	locks map[string]*fileLock
}

// fileData is what the file holds.
type fileData struct {
	NextRunID   int64                                   `json:"nextRunId"`
	Runs        []adsync.Run                            `json:"runs"`
	Links       map[string]map[string]adsync.Link       `json:"links"`             // org → user → link
	Conflicts   map[string][]adsync.Conflict            `json:"conflicts"`         // org → open conflicts
	Resolutions map[string]map[string]adsync.Resolution `json:"resolutions"`       // org → user → resolution
	Notices     map[string]notice                       `json:"notices,omitempty"` // org + "/" + key → state
	Changes     map[int64][]adsync.ChangeRecord         `json:"changes"`           // run id → change log, by seq
	// Exemptions are org → contact id → exemption (R-DEACT-9).
	Exemptions map[string]map[int64]adsync.Exemption `json:"exemptions,omitempty"`
}

// notice is the recorded state of an alert.
type notice struct {
	State  string    `json:"state"`
	SentAt time.Time `json:"sentAt"`
}

var _ adsync.HistoryStore = (*FileStore)(nil)

// OpenFileStore opens the store at path, creating it when it does not exist.
func OpenFileStore(path string) (*FileStore, error) {
	s := &FileStore{path: path}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("history file: %w", err)
	default:
		if err := json.Unmarshal(b, &s.d); err != nil {
			return nil, fmt.Errorf("history file %s: %w", path, err)
		}
	}
	if s.d.Links == nil {
		s.d.Links = map[string]map[string]adsync.Link{}
	}
	if s.d.Conflicts == nil {
		s.d.Conflicts = map[string][]adsync.Conflict{}
	}
	if s.d.Resolutions == nil {
		s.d.Resolutions = map[string]map[string]adsync.Resolution{}
	}
	if s.d.Changes == nil {
		s.d.Changes = map[int64][]adsync.ChangeRecord{}
	}
	return s, nil
}

// save writes the file atomically: a crash leaves the old or the new
// history, never half of one. Callers hold s.mu.
func (s *FileStore) save() error {
	b, err := json.Marshal(&s.d)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.path), ".history-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil { // a journaled create must survive a crash (R-RUN-7)
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), s.path)
}

// update applies f and saves; on a failed save the change is undone, so each
// call takes effect whole or not at all. A cancelled ctx changes nothing.
func (s *FileStore) update(ctx context.Context, f func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	before, err := json.Marshal(&s.d)
	if err != nil {
		return err
	}
	if err := f(); err != nil {
		return err
	}
	if err := s.save(); err != nil {
		s.d = fileData{}
		_ = json.Unmarshal(before, &s.d)
		return fmt.Errorf("saving the history file: %w", err)
	}
	return nil
}

// clone returns a deep copy through JSON, with times in UTC: callers may
// keep and modify what they get.
func clone[T any](v T) T {
	var out T
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

func normRun(r adsync.Run) adsync.Run {
	r = clone(r)
	r.Started, r.Ended = utc(r.Started), utc(r.Ended)
	return r
}

func (s *FileStore) StartRun(ctx context.Context, r adsync.Run) (adsync.Run, error) {
	err := s.update(ctx, func() error {
		s.d.NextRunID++
		r.ID = s.d.NextRunID
		r = normRun(r)
		s.d.Runs = append(s.d.Runs, r)
		return nil
	})
	return clone(r), err
}

func (s *FileStore) FinishRun(ctx context.Context, r adsync.Run) error {
	return s.update(ctx, func() error {
		i := slices.IndexFunc(s.d.Runs, func(x adsync.Run) bool { return x.ID == r.ID && x.OrgID == r.OrgID })
		if i < 0 {
			return fmt.Errorf("run %d of %q: %w", r.ID, r.OrgID, adsync.ErrNotFound)
		}
		s.d.Runs[i] = normRun(r)
		// Keep the newest KeepRuns of the organization (R-RUN-3).
		kept := 0
		for j := len(s.d.Runs) - 1; j >= 0; j-- {
			if s.d.Runs[j].OrgID != r.OrgID {
				continue
			}
			if kept++; kept > adsync.KeepRuns {
				delete(s.d.Changes, s.d.Runs[j].ID) // the change log goes with its run
				s.d.Runs = slices.Delete(s.d.Runs, j, j+1)
			}
		}
		return nil
	})
}

func (s *FileStore) Runs(ctx context.Context, orgID string, limit int) ([]adsync.Run, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []adsync.Run
	for j := len(s.d.Runs) - 1; j >= 0 && (limit <= 0 || len(out) < limit); j-- { // ids grow with position
		if s.d.Runs[j].OrgID == orgID {
			out = append(out, clone(s.d.Runs[j]))
		}
	}
	return out, nil
}

func (s *FileStore) Run(ctx context.Context, orgID string, id int64) (adsync.Run, error) {
	if err := ctx.Err(); err != nil {
		return adsync.Run{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.d.Runs {
		if r.ID == id && r.OrgID == orgID {
			return clone(r), nil
		}
	}
	return adsync.Run{}, fmt.Errorf("run %d of %q: %w", id, orgID, adsync.ErrNotFound)
}

func (s *FileStore) InterruptRuns(ctx context.Context, now time.Time) (int, error) {
	n := 0
	err := s.update(ctx, func() error {
		for i := range s.d.Runs {
			if s.d.Runs[i].Status == adsync.StatusRunning {
				s.d.Runs[i].Status, s.d.Runs[i].Ended = adsync.StatusInterrupted, utc(now)
				n++
			}
		}
		return nil
	})
	return n, err
}

func (s *FileStore) Links(ctx context.Context, orgID string) ([]adsync.Link, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []adsync.Link
	for _, l := range s.d.Links[orgID] {
		out = append(out, clone(l))
	}
	return out, nil
}

func (s *FileStore) PutLinks(ctx context.Context, orgID string, links []adsync.Link) error {
	if len(links) == 0 {
		return nil
	}
	if err := checkLinks(orgID, links); err != nil {
		return err
	}
	return s.update(ctx, func() error {
		s.putLinks(orgID, links)
		return nil
	})
}

func checkLinks(orgID string, links []adsync.Link) error {
	for _, l := range links {
		if l.OrgID != "" && l.OrgID != orgID {
			return fmt.Errorf("PutLinks(%q): the link of user %q is of organization %q", orgID, l.UserID, l.OrgID)
		}
	}
	return nil
}

// putLinks stores links; callers hold s.mu.
func (s *FileStore) putLinks(orgID string, links []adsync.Link) {
	m := s.d.Links[orgID]
	if m == nil {
		m = map[string]adsync.Link{}
		s.d.Links[orgID] = m
	}
	for _, l := range links {
		l = normLink(clone(l))
		l.OrgID = orgID
		m[l.UserID] = l
	}
}

// normLink returns l with its times in UTC and an empty Written map as
// nil, as the store keeps links.
func normLink(l adsync.Link) adsync.Link {
	l.LinkedAt, l.SyncedAt, l.MissingSince = utc(l.LinkedAt), utc(l.SyncedAt), utc(l.MissingSince)
	if len(l.Written) == 0 {
		l.Written = nil
	}
	return l
}

// PutChanges records change records of a run and puts links in one update
// of the file.
func (s *FileStore) PutChanges(ctx context.Context, orgID string, runID int64, changes []adsync.ChangeRecord, links []adsync.Link) error {
	return s.putChanges(ctx, orgID, runID, adsync.Written{}, changes, links)
}

// PutOutcomes marks a batch's records written, records the other outcomes
// and puts links, in one update of the file.
func (s *FileStore) PutOutcomes(ctx context.Context, orgID string, runID int64, w adsync.Written, changes []adsync.ChangeRecord, links []adsync.Link) error {
	if err := w.Validate(); err != nil {
		return fmt.Errorf("PutOutcomes(%q, %d): %w", orgID, runID, err)
	}
	return s.putChanges(ctx, orgID, runID, w, changes, links)
}

func (s *FileStore) putChanges(ctx context.Context, orgID string, runID int64, w adsync.Written, changes []adsync.ChangeRecord, links []adsync.Link) error {
	for _, c := range changes {
		if (c.OrgID != "" && c.OrgID != orgID) || (c.RunID != 0 && c.RunID != runID) {
			return fmt.Errorf("PutChanges(%q, %d): change %d is of organization %q, run %d", orgID, runID, c.Seq, c.OrgID, c.RunID)
		}
	}
	if err := checkLinks(orgID, links); err != nil {
		return err
	}
	return s.update(ctx, func() error {
		if !slices.ContainsFunc(s.d.Runs, func(r adsync.Run) bool { return r.ID == runID && r.OrgID == orgID }) {
			return fmt.Errorf("changes of run %d of %q: %w", runID, orgID, adsync.ErrNotFound)
		}
		log := s.d.Changes[runID]
		for i := range log {
			if w.Covers(&log[i]) {
				log[i].Outcome, log[i].At = adsync.OutcomeWritten, utc(w.At)
			}
		}
		for _, c := range clone(changes) {
			c.OrgID, c.RunID, c.At = orgID, runID, utc(c.At)
			for i := range c.Unlinked { // the links a change dropped, kept as they were
				c.Unlinked[i] = normLink(c.Unlinked[i])
			}
			i, found := slices.BinarySearchFunc(log, c.Seq, func(x adsync.ChangeRecord, seq int) int { return x.Seq - seq })
			if found {
				log[i] = c
			} else {
				log = slices.Insert(log, i, c)
			}
		}
		s.d.Changes[runID] = log
		s.putLinks(orgID, links)
		return nil
	})
}

// Changes returns a page of the organization's change records, in (run,
// seq) order.
func (s *FileStore) Changes(ctx context.Context, orgID string, f adsync.ChangeFilter) ([]adsync.ChangeRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []adsync.ChangeRecord
	for _, r := range s.d.Runs { // ascending ids
		if r.OrgID != orgID {
			continue
		}
		for _, c := range s.d.Changes[r.ID] {
			if f.Match(&c) {
				out = append(out, clone(c))
				if len(out) == f.PageSize() {
					return out, nil
				}
			}
		}
	}
	return out, nil
}

func (s *FileStore) DeleteLinks(ctx context.Context, orgID string, userIDs []string) error {
	if len(userIDs) == 0 {
		return nil
	}
	return s.update(ctx, func() error {
		for _, u := range userIDs {
			delete(s.d.Links[orgID], u)
		}
		return nil
	})
}

func (s *FileStore) Conflicts(ctx context.Context, orgID string) ([]adsync.Conflict, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.d.Conflicts[orgID]) == 0 {
		return nil, nil
	}
	return clone(s.d.Conflicts[orgID]), nil
}

func (s *FileStore) ReplaceConflicts(ctx context.Context, orgID string, cs []adsync.Conflict) error {
	return s.update(ctx, func() error {
		cs = clone(cs)
		for i := range cs {
			cs[i].FirstSeen, cs[i].LastSeen = utc(cs[i].FirstSeen), utc(cs[i].LastSeen)
		}
		if len(cs) == 0 {
			delete(s.d.Conflicts, orgID)
		} else {
			s.d.Conflicts[orgID] = cs
		}
		return nil
	})
}

func (s *FileStore) Resolutions(ctx context.Context, orgID string) ([]adsync.Resolution, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []adsync.Resolution
	for _, r := range s.d.Resolutions[orgID] {
		out = append(out, r)
	}
	return out, nil
}

func (s *FileStore) PutResolution(ctx context.Context, r adsync.Resolution) error {
	return s.update(ctx, func() error {
		m := s.d.Resolutions[r.OrgID]
		if m == nil {
			m = map[string]adsync.Resolution{}
			s.d.Resolutions[r.OrgID] = m
		}
		r.CreatedAt = utc(r.CreatedAt)
		m[r.UserID] = r
		return nil
	})
}

func (s *FileStore) Exemptions(ctx context.Context, orgID string) ([]adsync.Exemption, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []adsync.Exemption
	for _, e := range s.d.Exemptions[orgID] {
		out = append(out, e)
	}
	return out, nil
}

func (s *FileStore) PutExemption(ctx context.Context, e adsync.Exemption) error {
	if e.OrgID == "" || e.ContactID <= 0 {
		return fmt.Errorf("PutExemption: organization %q, contact %d: both are required", e.OrgID, e.ContactID)
	}
	return s.update(ctx, func() error {
		if s.d.Exemptions == nil {
			s.d.Exemptions = map[string]map[int64]adsync.Exemption{}
		}
		m := s.d.Exemptions[e.OrgID]
		if m == nil {
			m = map[int64]adsync.Exemption{}
			s.d.Exemptions[e.OrgID] = m
		}
		e.CreatedAt = utc(e.CreatedAt)
		m[e.ContactID] = e
		return nil
	})
}

func (s *FileStore) DeleteExemption(ctx context.Context, orgID string, contactID int64) error {
	return s.update(ctx, func() error {
		if _, ok := s.d.Exemptions[orgID][contactID]; !ok {
			return fmt.Errorf("exemption of contact %d in %q: %w", contactID, orgID, adsync.ErrNotFound)
		}
		delete(s.d.Exemptions[orgID], contactID)
		return nil
	})
}

func (s *FileStore) DeleteResolution(ctx context.Context, orgID, userID string) error {
	return s.update(ctx, func() error {
		if _, ok := s.d.Resolutions[orgID][userID]; !ok {
			return fmt.Errorf("resolution of user %q in %q: %w", userID, orgID, adsync.ErrNotFound)
		}
		delete(s.d.Resolutions[orgID], userID)
		return nil
	})
}

// ClaimNotice records an alert's state and says whether to send it: when
// the state changed, or the same state's reminder is due. The store's mutex
// makes the claim a compare-and-set.
func (s *FileStore) ClaimNotice(ctx context.Context, orgID, key, state string, now time.Time, remindAfter time.Duration) (string, bool, error) {
	if err := ctx.Err(); err != nil {
		return "", false, err
	}
	if key == "" || state == "" {
		return "", false, fmt.Errorf("notice %q of %q: empty key or state", key, orgID)
	}
	var prev string
	send := false
	err := s.update(ctx, func() error {
		k := orgID + "/" + key // organization ids never contain '/'
		old := s.d.Notices[k]
		prev = old.State
		if old.State == state && (remindAfter <= 0 || now.Before(old.SentAt.Add(remindAfter))) {
			return nil
		}
		if s.d.Notices == nil {
			s.d.Notices = map[string]notice{}
		}
		s.d.Notices[k] = notice{State: state, SentAt: now.UTC()}
		send = true
		return nil
	})
	if err != nil {
		return "", false, err
	}
	return prev, send, nil
}

// TryLock takes the organization's lock within this process. A FileStore is
// used by one process at a time (the file is rewritten whole), so that is
// the whole of R-RUN-5 for it; a store shared by several processes must
// lock across them (see history/sqlite and history/postgres).
func (s *FileStore) TryLock(ctx context.Context, orgID string) (adsync.Lock, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.locks[orgID] != nil {
		return nil, fmt.Errorf("history file: lock organization %q: %w", orgID, adsync.ErrRunInProgress)
	}
	if s.locks == nil {
		s.locks = map[string]*fileLock{}
	}
	l := &fileLock{s: s, orgID: orgID}
	s.locks[orgID] = l
	return l, nil
}

// fileLock is an organization lock of a FileStore.
type fileLock struct {
	s     *FileStore
	orgID string
}

// Held reports adsync.ErrLockLost once the lock was released.
func (l *fileLock) Held(ctx context.Context) error {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	if l.s.locks[l.orgID] != l {
		return fmt.Errorf("history file: organization %q: %w", l.orgID, adsync.ErrLockLost)
	}
	return nil
}

// Unlock releases the lock; later calls do nothing.
func (l *fileLock) Unlock() {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	if l.s.locks[l.orgID] == l {
		delete(l.s.locks, l.orgID)
	}
}
