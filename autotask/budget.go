package autotask

import (
	"context"
	"sync"
	"time"
)

// DocumentedHourlyLimit is Autotask's documented request threshold per
// database and rolling hour (§5.1). Without a ThresholdInformation reading
// the client assumes it and counts only its own calls.
const DocumentedHourlyLimit = 10_000

// budget paces the client under Autotask's request threshold (§5.1): it
// knows the database's usage from ThresholdInformation, adds its own calls
// since, slows down past share and refuses past stop. Without a reading it
// fails safe: it counts its own calls in the rolling hour against the
// documented limit (fallback), which ignores other integrations' use, so
// it can only under-count the database's; it never admits blindly.
type budget struct {
	share, stop float64
	every       int
	fallback    int // limit assumed without a reading
	now         func() time.Time
	sleep       func(context.Context, time.Duration) error

	mu         sync.Mutex
	limit      int // externalRequestThreshold; 0 until known
	used       int // currentTimeframeRequestCount at the last read, plus our calls since
	sinceRead  int // calls since the last read attempt
	refreshing bool
	tried      bool        // a read was attempted
	own        []time.Time // this client's requests in the rolling hour, oldest first
	next       time.Time   // earliest start of the next paced call
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

// refreshFailed ends a failed read: the next is tried after another
// ThresholdEvery calls, not on every call. A reading made before stays in
// use with the calls made since added to it.
func (b *budget) refreshFailed() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refreshing = false
	b.sinceRead = 0
}

// record counts one request this client sent, for the own count. Only
// calls made before the first reading are kept: once a reading exists it
// is used (plus the calls since), so the list never outgrows what admit
// lets through on the own count, under the fallback limit.
func (b *budget) record() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.limit > 0 {
		b.own = nil
		return
	}
	b.own = append(b.own, b.now())
}

// ownCount returns this client's requests in the rolling hour. b.mu is held.
func (b *budget) ownCount() int {
	cut := b.now().Add(-time.Hour)
	i := 0
	for i < len(b.own) && !b.own[i].After(cut) {
		i++
	}
	if i > 0 {
		b.own = append(b.own[:0], b.own[i:]...)
	}
	return len(b.own)
}

// state returns the usage and limit admit goes by: the reading plus the
// calls since, or without a reading the own count against the fallback.
func (b *budget) state() (used, limit int, own bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stateLocked()
}

func (b *budget) stateLocked() (used, limit int, own bool) {
	if b.limit > 0 {
		return b.used, b.limit, false
	}
	return b.ownCount(), b.fallback, true
}

// admit accounts for one call about to be made: it returns a *BudgetError
// past stop, and waits first past share. pacedWarn is called once, the
// first time pacing starts.
func (b *budget) admit(ctx context.Context, pacedWarn func(used, limit int, own bool)) error {
	b.mu.Lock()
	used, limit, own := b.stateLocked()
	if limit <= 0 { // no fallback configured: nothing to go by
		b.sinceRead++
		b.mu.Unlock()
		return nil
	}
	share := float64(used+1) / float64(limit)
	if share >= b.stop {
		err := &BudgetError{Used: used, Limit: limit, Stop: b.stop, OwnCount: own}
		b.mu.Unlock()
		return err
	}
	if !own {
		b.used++ // the own count grows when the request is sent
	}
	b.sinceRead++
	var wait time.Duration
	if share >= b.share {
		// Pace at the rate that alone cannot grow the rolling hour past
		// the limit: one call per hour/limit, shared by all goroutines.
		interval := time.Hour / time.Duration(limit)
		now := b.now()
		start := b.next
		if start.Before(now) {
			start = now
		}
		b.next = start.Add(interval)
		wait = start.Sub(now)
		if !b.warned && pacedWarn != nil {
			b.warned = true
			defer pacedWarn(used+1, limit, own)
		}
	}
	b.mu.Unlock()
	if wait > 0 {
		return b.sleep(ctx, wait)
	}
	return nil
}
