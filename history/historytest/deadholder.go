package historytest

import (
	"context"
	"io"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/internal/conform"
)

const ruleDeadHolder = "Locker.TryLock: a lock whose holder died is released by the store (R-RUN-5): while a child process holds the lock, TryLock fails with an error wrapping adsync.ErrRunInProgress; once the child is killed, TryLock takes it within a few seconds"

// holderEnv tells a child process started by TestDeadHolder to hold a lock.
const holderEnv = "HISTORYTEST_LOCK_HOLDER"

// TestDeadHolder checks that a Locker holding across processes frees the
// lock of a process that dies holding it (adsync.Locker, R-RUN-5): it runs
// the test binary again as a child that opens a store with open(arg) and
// locks an organization, checks that l cannot take that lock, kills the
// child and waits (a few seconds at most) for l to get it.
//
// Call it from a top-level test function with no other side effects before
// the call: in the child process, the same test runs and TestDeadHolder
// holds the lock until killed, never returning.
func TestDeadHolder(t *testing.T, l adsync.Locker, arg string, open func(arg string) (adsync.Locker, error)) {
	const org = "historytest-dead-holder"
	if a := os.Getenv(holderEnv); a != "" {
		store, err := open(a)
		if err != nil {
			os.Exit(2)
		}
		if _, err := store.TryLock(context.Background(), org); err != nil {
			os.Exit(3)
		}
		os.Stdout.WriteString("locked\n")
		time.Sleep(5 * time.Minute)
		os.Exit(0)
	}
	conform.Contract(t, ruleDeadHolder)
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$")
	cmd.Env = append(os.Environ(), holderEnv+"="+arg)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line := make([]byte, len("locked\n"))
	_, err = io.ReadFull(out, line)
	require.NoError(t, err, "the child process did not report holding the lock")

	_, err = l.TryLock(t.Context(), org)
	require.ErrorIs(t, err, adsync.ErrRunInProgress, "the child process holds the lock")
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	// A server may learn of the closed connection a moment later.
	var lk adsync.Lock
	for range 50 {
		if lk, err = l.TryLock(t.Context(), org); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	require.NoError(t, err, "the lock of the dead process must be freed")
	lk.Unlock()
}
