package main

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/history/historytest"
)

// The store keeps the HistoryStore contract: the conformance suite.
func TestConformance(t *testing.T) {
	historytest.Run(t, func(t *testing.T) adsync.HistoryStore {
		s, err := OpenFileStore(filepath.Join(t.TempDir(), "history.json"))
		require.NoError(t, err)
		return s
	})
}

func TestRun(t *testing.T) {
	var out bytes.Buffer
	file := filepath.Join(t.TempDir(), "history.json")
	require.NoError(t, run(context.Background(), &out, file))
	require.Equal(t, "run 1: succeeded: read 4, created 2, linked 0, updated 0, reactivated 0, deactivated 0, held 0, unchanged 0, conflicts 2, skipped 0, failed writes 0\n"+
		"run 2: succeeded: read 4, created 0, linked 0, updated 0, reactivated 0, deactivated 0, held 0, unchanged 2, conflicts 2, skipped 0, failed writes 0\n"+
		file+" holds 2 runs, 2 links, 2 open conflicts\n", out.String())
}

func TestHostileText(t *testing.T) {
	s, err := OpenFileStore(filepath.Join(t.TempDir(), "history.json"))
	require.NoError(t, err)
	historytest.TestHostileText(t, s)
}
