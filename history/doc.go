// Package history holds the in-memory adsync.HistoryStore, for tests,
// demos and one-off runs; its history is lost when the process ends.
//
// The durable stores live in subpackages: history/sqlite, the embedded
// default (one file, one process), and history/postgres, for several
// replicas sharing one database. history/historytest is the conformance
// suite all of them pass; a third-party store should pass it too.
//
// Every store returns times in UTC and keeps them to at least the
// millisecond (Memory keeps them exactly); empty lists and maps come back
// as nil.
package history
