// Package retry is a small exponential backoff with full jitter, bounded by
// a context, with an injectable sleep for tests.
package retry

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff computes the waits between attempts. The zero value is usable:
// 500 ms initial, 30 s cap, 5 attempts.
type Backoff struct {
	// Initial is the base wait before the second attempt.
	Initial time.Duration
	// Max caps one wait (Retry-After included).
	Max time.Duration
	// Attempts is the total number of attempts, the first included.
	Attempts int
	// Sleep waits for d or until ctx is done; nil means a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Rand returns a number in [0, 1); nil means math/rand/v2.
	Rand func() float64
}

func (b *Backoff) defaults() (initial, maxWait time.Duration, attempts int) {
	initial, maxWait, attempts = b.Initial, b.Max, b.Attempts
	if initial <= 0 {
		initial = 500 * time.Millisecond
	}
	if maxWait <= 0 {
		maxWait = 30 * time.Second
	}
	if attempts <= 0 {
		attempts = 5
	}
	return initial, maxWait, attempts
}

// MaxAttempts is the total number of attempts.
func (b *Backoff) MaxAttempts() int {
	_, _, n := b.defaults()
	return n
}

// Wait returns the wait before attempt n+1 after attempt n (1-based) failed:
// full jitter over Initial·2^(n-1), capped at Max. A server's retryAfter,
// when positive, is honoured instead (capped at Max).
func (b *Backoff) Wait(n int, retryAfter time.Duration) time.Duration {
	initial, maxWait, _ := b.defaults()
	if retryAfter > 0 {
		return min(retryAfter, maxWait)
	}
	ceil := initial << min(n-1, 20)
	if ceil <= 0 || ceil > maxWait {
		ceil = maxWait
	}
	r := rand.Float64
	if b.Rand != nil {
		r = b.Rand
	}
	// Half fixed, half random: never zero, still spread.
	return ceil/2 + time.Duration(r()*float64(ceil/2))
}

// Pause sleeps for d, or returns ctx's error when it is done first.
func (b *Backoff) Pause(ctx context.Context, d time.Duration) error {
	if b.Sleep != nil {
		return b.Sleep(ctx, d)
	}
	return Sleep(ctx, d)
}

// Sleep waits for d or until ctx is done.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
