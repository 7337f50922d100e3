package autotask

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/autotask/autotasktest"
)

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// unresolvable is a host name no resolver knows (RFC 6761 reserves
// .invalid).
const unresolvable = "webservices.adsync-test.invalid"

// Issue 13: a failure to reach Autotask names the host that could not be
// reached and why (DNS, a refused connection), the zone lookup's apart from
// the zone's API host, and does not blame the company.
func TestUnreachableHostsNamed(t *testing.T) {
	ctx := context.Background()
	closed := closedPort(t)
	for _, tc := range []struct {
		name string
		cfg  Config
		want []string
	}{
		{"zone lookup host unresolvable",
			Config{ZoneLookupURL: "https://" + unresolvable + "/atservicesrest/"},
			[]string{"find the zone of API user u@example.com", "the zone lookup host " + unresolvable + " could not be resolved (DNS)", "autotask.zoneLookupUrl"}},
		{"zone lookup host refuses",
			Config{ZoneLookupURL: "http://" + closed + "/atservicesrest/"},
			[]string{"find the zone of API user u@example.com", "the zone lookup host " + closed + " refused the connection", "autotask.zoneLookupUrl"}},
		{"API host unresolvable",
			Config{BaseURL: "https://" + unresolvable + "/ATServicesRest/"},
			[]string{"the API host " + unresolvable + " could not be resolved (DNS)", "autotask.baseUrl"}},
		{"API host refuses",
			Config{BaseURL: "http://" + closed + "/ATServicesRest/"},
			[]string{"the API host " + closed + " refused the connection", "autotask.baseUrl"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.IntegrationCode, cfg.Username, cfg.Secret = "c", "u@example.com", adsync.NewSecret("s")
			c, err := New(cfg)
			require.NoError(t, err)
			var sl sleeps
			sl.install(c)
			err = c.Check(ctx, 175)
			require.Error(t, err)
			t.Log(err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.ErrorIs(t, err, adsync.ErrUnavailable)
			assert.NotErrorIs(t, err, adsync.ErrNotFound, "the company is not blamed")
			assert.Equal(t, 1, strings.Count(err.Error(), "autotask: "), "the package prefix once")
		})
	}
}

// Issue 11: every error of the client has the family's shape (an op, a
// kind, the cause, found by errors.Is and errors.As) and its message the
// package prefix exactly once.
func TestErrorShape(t *testing.T) {
	ctx := context.Background()
	srv := newEmulator(t, autotasktest.Options{})
	co := srv.AddCompany("Acme")
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	for _, tc := range []struct {
		name string
		run  func(c *Client) error
		kind error
		as   any
	}{
		{"missing company", func(c *Client) error { return c.Check(ctx, 424242) }, adsync.ErrNotFound, new(*Error)},
		{"missing contact", func(c *Client) error { _, err := c.GetContact(ctx, 99999); return err }, adsync.ErrNotFound, new(*Error)},
		{"blank name", func(c *Client) error {
			_, err := c.Create(ctx, adsync.NewContact{CompanyID: co, Values: adsync.Values{adsync.LastName: "B"}})
			return err
		}, adsync.ErrValidation, new(*Error)},
		{"cancelled", func(c *Client) error {
			return c.Contacts(cancelled, co, 0, func([]adsync.Contact) error { return nil })
		}, context.Canceled, new(*APIError)},
		{"wrong secret", func(c *Client) error {
			c.cfg.Secret = adsync.NewSecret("wrong-secret-value")
			_, err := c.CountContacts(ctx, co)
			return err
		}, adsync.ErrUnauthorized, new(*APIError)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestClient(t, srv, nil)
			err := tc.run(c)
			require.Error(t, err)
			t.Log(err)
			assert.ErrorIs(t, err, tc.kind)
			assert.True(t, errors.As(err, tc.as), "errors.As finds %T", tc.as)
			assert.True(t, strings.HasPrefix(err.Error(), "autotask: "), err.Error())
			assert.Equal(t, 1, strings.Count(err.Error(), "autotask: "), "the package prefix once")
		})
	}
	t.Run("budget", func(t *testing.T) {
		srv := newEmulator(t, autotasktest.Options{HourlyLimit: 1000})
		co := srv.AddCompany("Acme")
		srv.AddUsage(900)
		c := newTestClient(t, srv, nil)
		_, err := c.CountContacts(ctx, co)
		var be *BudgetError
		require.ErrorAs(t, err, &be)
		assert.Equal(t, "count the contacts of company "+itoa(co), be.Op)
		assert.ErrorIs(t, err, adsync.ErrBudgetExhausted)
		assert.Equal(t, 1, strings.Count(err.Error(), "autotask: "), err.Error())
	})
}

// Issue 13: each retry is logged with its cause (attribute err) and the
// delay before the next attempt.
func TestRetryLogged(t *testing.T) {
	srv := newEmulator(t, autotasktest.Options{})
	co := srv.AddCompany("Acme")
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := newTestClient(t, srv, func(cfg *Config) { cfg.Logger = logger })
	srv.InjectFault(autotasktest.Fault{Path: "Contacts/query/count", Status: 503, Times: 1})
	_, err := c.CountContacts(context.Background(), co)
	require.NoError(t, err)
	var retry string
	for _, l := range strings.Split(buf.String(), "\n") {
		if strings.Contains(l, "autotask: retrying") {
			retry = l
		}
	}
	require.NotEmpty(t, retry, "the retry is logged: %s", buf.String())
	assert.Contains(t, retry, "err=")
	assert.Contains(t, retry, "HTTP 503")
	assert.Contains(t, retry, "delay=")
	assert.Contains(t, retry, "status=503")
	assert.NotContains(t, buf.String(), "error=", "one attribute name for errors: err")
}

// Issue 13 (faster failures): a zone lookup that fails while the budget
// reads ThresholdInformation fails the call at once, rather than be tried
// again by the call itself.
func TestZoneFailureNotRepeated(t *testing.T) {
	var lookups atomic.Int32
	zone := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lookups.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer zone.Close()
	c, err := New(Config{IntegrationCode: "c", Username: "u@example.com", Secret: adsync.NewSecret("s"), ZoneLookupURL: zone.URL + "/atservicesrest/"})
	require.NoError(t, err)
	var sl sleeps
	sl.install(c)
	_, err = c.CountContacts(context.Background(), 174)
	require.Error(t, err)
	t.Log(err)
	assert.ErrorIs(t, err, adsync.ErrUnavailable)
	assert.Contains(t, err.Error(), "count the contacts of company 174: GET zoneInformation")
	assert.Equal(t, int32(checkAttempts), lookups.Load(), "one zone lookup, tried twice at most")
}
