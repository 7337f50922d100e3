package adsync

import (
	"context"
	"sync/atomic"
)

type callCounterKey struct{}

// CountAPICall records one API call made on behalf of ctx, for the run
// record (R-RUN-4). A ContactStore calls it for every request it sends,
// retries and bookkeeping included, with the context it was given; the
// Syncer then counts exactly its own run's calls, even when several runs
// share one store at once. A store that does not call it records no
// calls.
func CountAPICall(ctx context.Context) {
	if c, ok := ctx.Value(callCounterKey{}).(*atomic.Int64); ok {
		c.Add(1)
	}
}

// withCallCounter returns a context whose API calls CountAPICall counts.
func withCallCounter(ctx context.Context) (context.Context, *atomic.Int64) {
	c := new(atomic.Int64)
	return context.WithValue(ctx, callCounterKey{}, c), c
}
