package autotask

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
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
			c := newTestClient(t, srv, func(cfg *Config) { cfg.MaxInFlight = 8; cfg.MaxAttempts = 100 })
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
