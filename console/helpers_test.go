package console_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/psasync/adsync"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// gatedSource holds a directory read until released: a run stays in
// progress as long as the test needs.
type gatedSource struct {
	adsync.DirectorySource
	once    sync.Once
	entered chan struct{}
	release chan struct{}
}

func (g *gatedSource) Users(ctx context.Context, page func([]adsync.User) error) error {
	g.once.Do(func() { close(g.entered) })
	select {
	case <-g.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return g.DirectorySource.Users(ctx, page)
}

func httpRequest(method, path string) *http.Request {
	return httptest.NewRequest(method, path, nil)
}

func record(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}
