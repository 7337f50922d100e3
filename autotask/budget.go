package autotask

import (
	"context"
	"sync"
	"time"
)

// budget paces the client under Autotask's request threshold (§5.1): it
// knows the database's usage from ThresholdInformation, adds its own calls
// since, slows down past share and refuses past stop.
type budget struct {
	share, stop float64
	every       int
	now         func() time.Time
	sleep       func(context.Context, time.Duration) error

	mu         sync.Mutex
	limit      int // externalRequestThreshold; 0 until known
	used       int // currentTimeframeRequestCount at the last read, plus our calls since
	sinceRead  int // calls since the last read
	refreshing bool
	tried      bool      // a read was attempted
	next       time.Time // earliest start of the next paced call
	warned     bool
}

// threshold is the ThresholdInformation answer.
type threshold struct {
	ExternalRequestThreshold     int `json:"externalRequestThreshold"`
	RequestThresholdTimeframe    int `json:"requestThresholdTimeframe"`
	CurrentTimeframeRequestCount int `json:"currentTimeframeRequestCount"`
}

// needRefresh reports whether the caller should read ThresholdInformation
// now; if so the caller must call update or refreshFailed.
func (b *budget) needRefresh() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.refreshing || (b.tried && b.sinceRead < b.every) {
		return false
	}
	b.refreshing, b.tried = true, true
	return true
}

func (b *budget) update(t threshold) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refreshing = false
	if t.ExternalRequestThreshold <= 0 {
		return
	}
	b.limit, b.used, b.sinceRead = t.ExternalRequestThreshold, t.CurrentTimeframeRequestCount, 0
}

func (b *budget) refreshFailed() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refreshing = false
	b.sinceRead = 0 // try again after another round of calls, not on every call
}

// admit accounts for one call about to be made: it returns a *BudgetError
// past stop, and waits first past share. pacedWarn is called once, the
// first time pacing starts.
func (b *budget) admit(ctx context.Context, pacedWarn func(used, limit int)) error {
	b.mu.Lock()
	if b.limit == 0 {
		// Unknown yet (the first read failed): count and go on.
		b.sinceRead++
		b.mu.Unlock()
		return nil
	}
	used := float64(b.used+1) / float64(b.limit)
	if used >= b.stop {
		err := &BudgetError{Used: b.used, Limit: b.limit, Stop: b.stop}
		b.mu.Unlock()
		return err
	}
	b.used++
	b.sinceRead++
	var wait time.Duration
	if used >= b.share {
		// Pace at the rate that alone cannot grow the rolling hour past
		// the limit: one call per hour/limit, shared by all goroutines.
		interval := time.Hour / time.Duration(b.limit)
		now := b.now()
		start := b.next
		if start.Before(now) {
			start = now
		}
		b.next = start.Add(interval)
		wait = start.Sub(now)
		if !b.warned && pacedWarn != nil {
			b.warned = true
			defer pacedWarn(b.used, b.limit)
		}
	}
	b.mu.Unlock()
	if wait > 0 {
		return b.sleep(ctx, wait)
	}
	return nil
}
