package retry

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestWait(t *testing.T) {
	b := Backoff{Initial: time.Second, Max: 10 * time.Second, Rand: func() float64 { return 0.5 }}
	for _, tc := range []struct {
		name       string
		attempt    int
		retryAfter time.Duration
		want       time.Duration
	}{
		{"first retry: between half and all of Initial", 1, 0, 750 * time.Millisecond},
		{"doubles per attempt", 3, 0, 3 * time.Second},
		{"capped at Max", 10, 0, 7500 * time.Millisecond},
		{"Retry-After wins", 1, 4 * time.Second, 4 * time.Second},
		{"Retry-After capped at Max", 1, time.Hour, 10 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, b.Wait(tc.attempt, tc.retryAfter))
		})
	}
}

func TestJitterBounds(t *testing.T) {
	b := Backoff{Initial: time.Second, Max: time.Minute}
	for n := 1; n < 8; n++ {
		ceil := min(time.Second<<(n-1), time.Minute)
		for range 50 {
			w := b.Wait(n, 0)
			assert.GreaterOrEqual(t, w, ceil/2)
			assert.LessOrEqual(t, w, ceil)
		}
	}
}

func TestDefaultsAndSleep(t *testing.T) {
	var b Backoff
	assert.Equal(t, 5, b.MaxAttempts())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, b.Pause(ctx, time.Hour), context.Canceled)
	assert.NoError(t, Sleep(context.Background(), time.Millisecond))
}
