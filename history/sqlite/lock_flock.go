//go:build linux || darwin || freebsd || openbsd || netbsd || dragonfly

package sqlite

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockFile takes an exclusive flock on name without waiting: ok is false if
// another open file holds it. The holder's pid and organization are written
// into the file for an admin wondering who holds it.
//
// check reports whether the lock still holds: the file locked must still be
// the one at name, or a process that deleted or replaced it could take a
// lock of its own beside ours.
func lockFile(name, orgID string) (release func(), check func() error, ok bool, err error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, false, err
	}
	// A lock file an older version made readable by all is closed up.
	if fi, err := f.Stat(); err == nil && fi.Mode().Perm()&0o077 != 0 {
		if err := f.Chmod(0o600); err != nil {
			f.Close()
			return nil, nil, false, err
		}
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, nil, false, nil
		}
		return nil, nil, false, err
	}
	if err := f.Truncate(0); err == nil {
		fmt.Fprintf(f, "organization %q locked by pid %d\n", orgID, os.Getpid())
	}
	release = func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}
	check = func() error {
		held, err := f.Stat()
		if err != nil {
			return err
		}
		now, err := os.Stat(name)
		if err != nil {
			return err
		}
		if !os.SameFile(held, now) {
			return fmt.Errorf("lock file %s was replaced", name)
		}
		return nil
	}
	return release, check, true, nil
}
