package autotask

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/autotask/autotasktest"
)

// A thread-limit rejection is retried whatever its status (§5.2: it may
// come as a 500, like a validation error): creates and updates all land,
// once each.
func TestThreadLimitAnyStatus(t *testing.T) {
	for _, status := range []int{http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadRequest} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			ctx := context.Background()
			srv := newEmulator(t, autotasktest.Options{ThreadLimitStatus: status})
			co := srv.AddCompany("Acme")
			// More in flight than Autotask allows, to provoke rejections.
			c := newTestClient(t, srv, func(cfg *Config) { cfg.MaxInFlight = 8; cfg.MaxRetries = 99 })
			c.backoff.Sleep = func(ctx context.Context, d time.Duration) error { // short real pauses
				time.Sleep(5 * time.Millisecond)
				return ctx.Err()
			}
			require.NoError(t, c.Check(ctx, co))
			srv.SetLatency(20 * time.Millisecond)
			var wg sync.WaitGroup
			errs := make([]error, 16)
			ids := make([]int64, 16)
			for i := range errs {
				wg.Go(func() {
					v := ada()
					v[adsync.LastName] = fmt.Sprintf("Lovelace%d", i)
					ids[i], errs[i] = c.Create(ctx, adsync.NewContact{CompanyID: co, Values: v})
				})
			}
			wg.Wait()
			require.NoError(t, errors.Join(errs...))
			require.Positive(t, srv.ThreadRejections(), "the test provoked thread-limit rejections")
			assert.Len(t, srv.Contacts(co), 16, "each create landed once")
			for i := range errs {
				wg.Go(func() {
					errs[i] = c.Update(ctx, adsync.ContactUpdate{ContactID: ids[i], CompanyID: co,
						Fields: adsync.FieldSet(0).With(adsync.Title), Values: adsync.Values{adsync.Title: "Countess"}})
				})
			}
			wg.Wait()
			require.NoError(t, errors.Join(errs...))
		})
	}
}

// An untrusted certificate (a TLS-inspecting proxy in front of Autotask)
// is ErrTLS, systemic, named with the host and the fix, and not retried:
// no retry makes a certificate trusted.
func TestUntrustedCertificate(t *testing.T) {
	var hits atomic.Int32
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(ts.Close)
	for _, tc := range []struct {
		name string
		edit func(*Config)
	}{
		{"zone discovery", func(c *Config) { c.ZoneLookupURL = ts.URL + "/atservicesrest/" }},
		{"API call", func(c *Config) { c.BaseURL = ts.URL + "/ATServicesRest/" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{IntegrationCode: "CODE", Username: "api@example.com", Secret: adsync.NewSecret("s3cr3t-value")}
			tc.edit(&cfg)
			c, err := New(cfg)
			require.NoError(t, err)
			c.backoff.Sleep = func(ctx context.Context, d time.Duration) error { return ctx.Err() }
			hits.Store(0)
			err = c.Check(context.Background(), 174)
			require.ErrorIs(t, err, adsync.ErrTLS)
			assert.True(t, adsync.IsSystemic(err))
			assert.Contains(t, err.Error(), strings.TrimPrefix(ts.URL, "https://"), "names the host")
			assert.Contains(t, err.Error(), "certificate")
			assert.Contains(t, err.Error(), "proxy", "says what to check")
			assert.NotContains(t, err.Error(), "s3cr3t-value")
			assert.Zero(t, hits.Load(), "no request got through")
			assert.LessOrEqual(t, c.calls.Load(), int64(1), "not retried")
		})
	}
}

// R-RUN-7: a 503 on a create may come from a gateway after Autotask
// committed it (§5.4 retries only reads on 5xx): the client looks by query
// and, not finding it, reports an unknown outcome rather than send the
// create again, which could make a second contact.
func TestCreateAfter503ChecksFirst(t *testing.T) {
	ctx := context.Background()
	srv := newEmulator(t, autotasktest.Options{})
	co := srv.AddCompany("Acme")
	c := newTestClient(t, srv, nil)
	require.NoError(t, c.Check(ctx, co))
	srv.InjectFault(autotasktest.Fault{Method: http.MethodPost, Path: "/Contacts", Status: http.StatusServiceUnavailable, Times: 1})
	queries := srv.CountRequests(http.MethodPost, "Contacts/query")
	id, err := c.Create(ctx, adsync.NewContact{CompanyID: co, Values: ada()})
	assert.ErrorIs(t, err, adsync.ErrOutcomeUnknown)
	assert.Zero(t, id)
	assert.Empty(t, srv.Contacts(co), "not sent again")
	assert.Equal(t, 1, srv.CountRequests(http.MethodPost, "/Contacts"), "one create")
	assert.Equal(t, queries+1, srv.CountRequests(http.MethodPost, "Contacts/query"), "looked up once")
}
