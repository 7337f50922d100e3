// Package historytest is the conformance suite of adsync.HistoryStore, in
// the manner of testing/fstest and testing/slogtest: every store runs it,
// and a failing test names the rule of the contract the store broke, in
// the format of the other suites (sourcetest, contactstest):
//
//	contract: RunStore.FinishRun: replaces the run and removes ...
//
// Every rule starts with the part of adsync.HistoryStore and the method
// whose doc comment states it ("HistoryStore: " for what every method
// promises); the suite checks nothing those comments do not promise.
// Subtests are named by the rule id where one applies.
//
//	func TestConformance(t *testing.T) {
//		historytest.Run(t, func(t *testing.T) adsync.HistoryStore {
//			s := mystore.Open(...) // fresh and empty
//			t.Cleanup(s.Close)
//			return s
//		})
//	}
//
// The lock (adsync.Locker) is tested within one instance. A store whose
// lock holds across processes needs its own test with two instances on one
// backend (see TestDeadHolder); the suite sees one instance only. The same
// holds for the notice claim (adsync.NoticeStore): NoticeRace runs it over
// several instances of one backend.
//
// RunBenchmarks measures loading and saving an organization of 400,000
// links; RunChangeLogBenchmarks what the change log adds to the saves of a
// 400,000-create first run and of a 1 % daily run.
package historytest
