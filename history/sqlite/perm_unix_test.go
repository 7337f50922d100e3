//go:build linux || darwin || freebsd || openbsd || netbsd || dragonfly

package sqlite_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync/history/historytest"
	"github.com/psasync/adsync/history/sqlite"
)

// The history holds names and emails: its file, WAL, shared memory and
// lock files are the owner's only, whatever the umask, and a file left
// readable by an older version is closed up when opened (#10 point 12).
func TestFilesAreOwnerOnly(t *testing.T) {
	old := syscall.Umask(0o022) // the usual umask, which gives 0644 files
	t.Cleanup(func() { syscall.Umask(old) })
	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, path string)
	}{
		{"a new file", func(*testing.T, string) {}},
		{"a file an older version left readable", func(t *testing.T, path string) {
			s, err := sqlite.Open(t.Context(), path, nil)
			require.NoError(t, err)
			lk, err := s.TryLock(t.Context(), "org")
			require.NoError(t, err)
			lk.Unlock()
			require.NoError(t, s.Close())
			for _, name := range []string{path, path + ".locks"} {
				require.NoError(t, os.Chmod(name, 0o755))
			}
			locks, err := filepath.Glob(filepath.Join(path+".locks", "*"))
			require.NoError(t, err)
			require.NotEmpty(t, locks)
			for _, name := range locks {
				require.NoError(t, os.Chmod(name, 0o644))
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			path := filepath.Join(t.TempDir(), "history.db")
			tc.prepare(t, path)
			s := open(t, path)
			require.NoError(t, s.PutLinks(ctx, "org", historytest.ManyLinks("org", 10)))
			lk, err := s.TryLock(ctx, "org")
			require.NoError(t, err)
			defer lk.Unlock()

			want := map[string]os.FileMode{path: 0o600, path + "-wal": 0o600, path + "-shm": 0o600, path + ".locks": 0o700}
			locks, err := filepath.Glob(filepath.Join(path+".locks", "*"))
			require.NoError(t, err)
			require.Len(t, locks, 1, "one lock file")
			want[locks[0]] = 0o600
			for name, mode := range want {
				fi, err := os.Stat(name)
				require.NoError(t, err)
				require.Equal(t, mode, fi.Mode().Perm(), "mode of %s", filepath.Base(name))
			}
		})
	}
}
