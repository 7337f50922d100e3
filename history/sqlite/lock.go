package sqlite

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/psasync/adsync"
)

// TryLock takes the organization's lock. Within the process it is a map;
// across processes sharing the file it is an exclusive flock(2) on a file in
// the directory "<database>.locks" (on Linux, macOS and the BSDs; elsewhere
// the lock holds within the process only). The kernel drops a flock when
// its holder dies, so a crashed process never leaves an organization
// locked.
func (s *Store) TryLock(ctx context.Context, orgID string) (adsync.Lock, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, held := s.locks[orgID]; held {
		return nil, fmt.Errorf("history/sqlite: lock organization %q: %w (in this process)", orgID, adsync.ErrRunInProgress)
	}
	dir := s.path + ".locks"
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("history/sqlite: lock organization %q: %w", orgID, err)
	}
	if err := restrictMode(dir, 0o700); err != nil {
		return nil, fmt.Errorf("history/sqlite: lock organization %q: %w", orgID, err)
	}
	sum := sha256.Sum256([]byte(orgID))
	release, check, ok, err := lockFile(filepath.Join(dir, hex.EncodeToString(sum[:12])+".lock"), orgID)
	if err != nil {
		return nil, fmt.Errorf("history/sqlite: lock organization %q: %w", orgID, err)
	}
	if !ok {
		return nil, fmt.Errorf("history/sqlite: lock organization %q: %w (in another process using %s)", orgID, adsync.ErrRunInProgress, s.path)
	}
	l := &fileLock{s: s, orgID: orgID, check: check}
	s.locks[orgID] = release
	return l, nil
}

// fileLock is an organization lock of a Store.
type fileLock struct {
	s     *Store
	orgID string
	check func() error
	once  sync.Once
	done  atomic.Bool
}

// Held reports ErrLockLost once the lock was released, or when its lock
// file is no longer the one locked.
func (l *fileLock) Held(ctx context.Context) error {
	if l.done.Load() {
		return fmt.Errorf("history/sqlite: organization %q: %w: it was unlocked", l.orgID, adsync.ErrLockLost)
	}
	if err := l.check(); err != nil {
		return fmt.Errorf("history/sqlite: organization %q: %w: %w", l.orgID, adsync.ErrLockLost, err)
	}
	return nil
}

// Unlock releases the lock; later calls do nothing.
func (l *fileLock) Unlock() {
	l.once.Do(func() {
		l.done.Store(true)
		l.s.mu.Lock()
		defer l.s.mu.Unlock()
		if r, held := l.s.locks[l.orgID]; held {
			r()
			delete(l.s.locks, l.orgID)
		}
	})
}
