package sqlite

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/psasync/adsync"
)

// TryLock takes the organization's lock. Within the process it is a map;
// across processes sharing the file it is an exclusive flock(2) on a file in
// the directory "<database>.locks" (on Linux, macOS and the BSDs; elsewhere
// the lock holds within the process only). The kernel drops a flock when
// its holder dies, so a crashed process never leaves an organization
// locked. The returned unlock may be called more than once.
func (s *Store) TryLock(ctx context.Context, orgID string) (func(), error) {
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
	sum := sha256.Sum256([]byte(orgID))
	release, ok, err := lockFile(filepath.Join(dir, hex.EncodeToString(sum[:12])+".lock"), orgID)
	if err != nil {
		return nil, fmt.Errorf("history/sqlite: lock organization %q: %w", orgID, err)
	}
	if !ok {
		return nil, fmt.Errorf("history/sqlite: lock organization %q: %w (in another process using %s)", orgID, adsync.ErrRunInProgress, s.path)
	}
	s.locks[orgID] = release
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if r, held := s.locks[orgID]; held {
				r()
				delete(s.locks, orgID)
			}
		})
	}, nil
}
