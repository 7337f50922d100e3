package autotask

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/autotask/autotasktest"
	"github.com/stretchr/testify/require"
)

// newEmulator starts an emulator with test-scaled latency tiers.
func newEmulator(t testing.TB, opts autotasktest.Options) *autotasktest.Server {
	t.Helper()
	if opts.TimeScale == 0 {
		opts.TimeScale = 0.001
	}
	srv := autotasktest.NewServer(opts)
	t.Cleanup(srv.Close)
	return srv
}

// testConfig is a Config for srv, with zone discovery.
func testConfig(srv *autotasktest.Server) Config {
	cr := srv.Credentials()
	return Config{IntegrationCode: cr.IntegrationCode, Username: cr.Username, Secret: adsync.NewSecret(cr.Secret),
		ZoneLookupURL: srv.ZoneLookupURL(), HTTPClient: srv.Client()}
}

// newTestClient returns a client of srv whose backoff does not sleep.
func newTestClient(t testing.TB, srv *autotasktest.Server, edit func(*Config)) *Client {
	t.Helper()
	cfg := testConfig(srv)
	if edit != nil {
		edit(&cfg)
	}
	c, err := New(cfg)
	require.NoError(t, err)
	c.backoff.Sleep = func(ctx context.Context, d time.Duration) error { return ctx.Err() }
	return c
}

// seedFields converts a contact's values to emulator fields.
func seedFields(c adsync.Contact) autotasktest.Fields {
	f := autotasktest.Fields{"isActive": c.Active}
	for _, fl := range adsync.AllFields() {
		v := c.Values[fl]
		if v == "" {
			continue
		}
		if fl == adsync.CountryID {
			n, _ := strconv.ParseInt(v, 10, 64)
			f[fl.String()] = n
			continue
		}
		f[fl.String()] = v
	}
	return f
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
