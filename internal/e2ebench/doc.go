// Package e2ebench measures whole sync runs of one large organization end
// to end (issue 14): the real Syncer, the real autotask.Client against the
// autotasktest emulator with its latency model and its 3-in-flight limit,
// the real Graph source against graphtest, and a SQLite history.
//
// The package holds only benchmarks (bench_test.go); nothing here is a test
// that times anything. The emulators run in a child process (the test
// binary started again with E2EBENCH_EMULATOR=1, driven over its standard
// input and output), so that the peak RSS of the benchmark's own process is
// the Syncer's, its clients' and the history's, and the emulators' memory
// is reported apart.
//
// Every figure is reported with its lower bound, computed by the benchmark
// from the run's own counts:
//
//	calls ≥ ⌈contacts/500⌉ + writes + constant
//	wall  ≥ Σ phases calls × latency / calls in flight allowed
//
// where a created contact with a billing product is two writes (the create
// and the association). The latency is the emulator's response-time model
// (autotasktest.Latency: the emulator's own work is inside it, not added
// to it, since here it shares the client's two cores), scaled down from
// the realistic figures so that a run finishes in minutes (E2EBENCH_SCALE,
// E2EBENCH_STEADY_SCALE); the ratios are scale-free as long as the
// latency, not the client's own time per call, is what the run waits on.
//
// Sizes: 10,000 users by default (only under -bench), E2EBENCH_SIZES (for
// example "10000,100000,398000") for the large ones.
package e2ebench
