//go:build !unix

package cli

import "os"

// ttyWidth is unknown here: the caller falls back on $COLUMNS.
func ttyWidth(*os.File) int { return 0 }
