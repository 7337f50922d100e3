// Package crashtest holds a test that kills a real process in the middle
// of a run and checks that the next run converges (R-RUN-7). It has no
// code of its own; see kill_test.go.
package crashtest
