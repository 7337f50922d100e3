//go:build unix

package graph_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/source/graph"
)

// BenchmarkFullRead reads a 10,000-member group (issue #14's goal: at most
// 8 µs of CPU and 3 KB allocated per user for the source itself).
//
//   - client: the source alone (the SDK's authentication, middleware and
//     request building, the decoding of the pages and the mapping), with
//     the emulator's answers replayed from memory;
//   - emulator: the source against graphtest over loopback HTTP, the
//     emulator's own cost in the same process.
//
// It reports per user the wall time, the CPU time of the whole process
// (both cores) and the bytes allocated, and the Graph calls per read
// (⌈10000/999⌉).
func BenchmarkFullRead(b *testing.B) {
	const n = 10_000
	for _, tt := range []struct {
		name   string
		replay bool
	}{{"client", true}, {"emulator", false}} {
		b.Run(tt.name, func(b *testing.B) {
			e := newEnv(b, nil)
			e.addUsers(n, "Bench")
			src, rp := e.src, &replay{next: e.srv.Client().Transport}
			if tt.replay {
				src = e.source(b, func(c *graph.Config) { c.HTTPClient = &http.Client{Transport: rp} })
			}
			ctx := context.Background()
			read := func() {
				got := 0
				if err := src.Users(ctx, func(p []adsync.User) error { got += len(p); return nil }); err != nil {
					b.Fatal(err)
				}
				if got != n {
					b.Fatalf("read %d users", got)
				}
			}
			read() // fills the replay, warms the connections
			e.srv.ResetRequests()
			rp.calls = 0
			read()
			calls := e.srv.CountRequests("") + rp.calls
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			cpu := cpuTime()
			b.ResetTimer()
			for b.Loop() {
				read()
			}
			b.StopTimer()
			cpu = cpuTime() - cpu
			runtime.ReadMemStats(&after)
			users := float64(b.N * n)
			b.ReportMetric(float64(b.Elapsed().Microseconds())/users, "µs/user")
			b.ReportMetric(float64(cpu.Microseconds())/users, "cpu-µs/user")
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/users, "B/user")
			b.ReportMetric(float64(calls), "calls/read")
		})
	}
}

// cpuTime is the CPU time (user and system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// replay answers each GET it has seen before from memory, so that a
// benchmark measures the client alone; it forwards the first one of each
// URL to next and records the answer.
type replay struct {
	next  http.RoundTripper
	mu    sync.Mutex
	seen  map[string]*recorded
	calls int // requests answered from memory
}

type recorded struct {
	status int
	header http.Header
	body   []byte
}

func (r *replay) RoundTrip(req *http.Request) (*http.Response, error) {
	key := req.Method + " " + req.URL.String()
	r.mu.Lock()
	rec := r.seen[key]
	if rec != nil {
		r.calls++
	}
	r.mu.Unlock()
	if rec == nil {
		resp, err := r.next.RoundTrip(req)
		if err != nil {
			return nil, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		rec = &recorded{status: resp.StatusCode, header: resp.Header, body: body}
		r.mu.Lock()
		if r.seen == nil {
			r.seen = map[string]*recorded{}
		}
		r.seen[key] = rec
		r.mu.Unlock()
	}
	return &http.Response{StatusCode: rec.status, Header: rec.header.Clone(), Body: io.NopCloser(bytes.NewReader(rec.body)),
		ContentLength: int64(len(rec.body)), Request: req, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}, nil
}
