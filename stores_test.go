package adsync_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/history"
	"github.com/psasync/adsync/history/postgres"
	"github.com/psasync/adsync/history/postgres/pgtest"
	"github.com/psasync/adsync/history/sqlite"
)

// historyStore opens a fresh history store of one kind for a test.
type historyStore struct {
	name string
	open func(t *testing.T) adsync.HistoryStore
}

// historyStores are the stores the Syncer-level history tests run on:
// memory, SQLite, and PostgreSQL when ADSYNC_PG_DSN is set (skipped
// otherwise).
var historyStores = []historyStore{
	{"memory", func(t *testing.T) adsync.HistoryStore { return history.NewMemory() }},
	{"sqlite", func(t *testing.T) adsync.HistoryStore {
		s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "history.db"), nil)
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}},
	{"postgres", func(t *testing.T) adsync.HistoryStore {
		s, err := postgres.Open(t.Context(), pgtest.DSN(t), nil)
		require.NoError(t, err)
		t.Cleanup(s.Close)
		return s
	}},
}

// onEveryStore runs f once per history store, as a subtest. f may make
// several envs (each with a fresh store) from the option it is given.
func onEveryStore(t *testing.T, f func(t *testing.T, opt envOption)) {
	for _, hs := range historyStores {
		t.Run(hs.name, func(t *testing.T) {
			if hs.name == "postgres" {
				pgtest.BaseDSN(t) // skips the store without a server
			}
			f(t, withSyncerOptions(func(o *adsync.Options) { o.History = hs.open(t) }))
		})
	}
}
