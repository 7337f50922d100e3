//go:build unix

package cli

import (
	"os"

	"golang.org/x/sys/unix"
)

// ttyWidth asks the terminal f is for its width; 0 if f is no terminal.
func ttyWidth(f *os.File) int {
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return 0
	}
	return int(ws.Col)
}
