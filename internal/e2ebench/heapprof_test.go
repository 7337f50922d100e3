package e2ebench

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/metrics"
	"runtime/pprof"
	"time"
)

// E2EBENCH_HEAPPROFILE=dir (opt-in, for finding what holds the memory):
// the benchmark's process writes a heap profile into dir each time its live
// heap after a collection grows past the largest seen by a tenth, so that
// the last profile written shows what is live at the peak (a live heap
// fallen under a third of that largest starts anew, as between runs). Each
// one is
// logged to standard error with the live heap and the memory the runtime
// holds from the system.
func init() {
	dir := os.Getenv("E2EBENCH_HEAPPROFILE")
	if dir == "" || os.Getenv("E2EBENCH_EMULATOR") == "1" {
		return
	}
	go watchHeap(dir)
}

func watchHeap(dir string) {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"}}
	var top uint64
	for n := 0; ; time.Sleep(50 * time.Millisecond) {
		metrics.Read(s)
		live := s[0].Value.Uint64()
		if live < top/3 {
			top = live // between runs: the next run's peak is profiled anew
		}
		if live < top+top/10 || live < 16<<20 {
			continue
		}
		top = live
		n++
		name := filepath.Join(dir, fmt.Sprintf("heap-%03d.pprof", n))
		f, err := os.Create(name)
		if err != nil {
			fmt.Fprintln(os.Stderr, "heap profile:", err)
			return
		}
		_ = pprof.Lookup("heap").WriteTo(f, 0)
		_ = f.Close()
		fmt.Fprintf(os.Stderr, "heap profile %s: live %d MB, from the system %d MB (released %d MB)\n",
			name, live>>20, s[1].Value.Uint64()>>20, s[2].Value.Uint64()>>20)
	}
}
