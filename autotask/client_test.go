package autotask

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/autotask/autotasktest"
	"github.com/psasync/adsync/internal/leaktest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func ada() adsync.Values {
	var v adsync.Values
	v[adsync.FirstName], v[adsync.LastName], v[adsync.Email] = "Ada", "Lovelace", "ada@example.com"
	return v
}

// sleeps records the backoff waits of a client instead of sleeping.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) install(c *Client) {
	c.backoff.Sleep = func(ctx context.Context, d time.Duration) error {
		s.mu.Lock()
		s.d = append(s.d, d)
		s.mu.Unlock()
		return ctx.Err()
	}
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

func TestZone(t *testing.T) {
	ctx := context.Background()
	srv := newEmulator(t, autotasktest.Options{})
	co := srv.AddCompany("Acme")
	c := newTestClient(t, srv, nil)
	t.Run("§1.2 the zone is looked up once and cached", func(t *testing.T) {
		require.NoError(t, c.Check(ctx, co))
		require.NoError(t, c.Check(ctx, co))
		assert.Equal(t, 0, srv.CountRequests("", "zoneInformation"), "zone lookups are not entity requests")
		assert.Equal(t, srv.BaseURL(), c.base)
	})
	t.Run("§1.2 a 401 after a zone move re-resolves the zone once", func(t *testing.T) {
		srv.MoveZone()
		require.NoError(t, c.Check(ctx, co))
		assert.Equal(t, srv.BaseURL(), c.base)
	})
	t.Run("the company check is one count query, not a read of the company", func(t *testing.T) {
		srv.ResetRequests()
		require.NoError(t, c.Check(ctx, co))
		assert.Equal(t, 1, srv.CountRequests("POST", "Companies/query/count"))
		assert.Equal(t, 0, srv.CountRequests("GET", "Companies/"))
	})
	t.Run("§1.1 the zone lookup sends the headers the contract marks required", func(t *testing.T) {
		got := make(chan http.Header, 1)
		probe := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case got <- r.Header.Clone():
			default:
			}
			fmt.Fprint(w, `{"zoneName":"Probe","url":"`+srv.BaseURL()+`","webUrl":"","ci":0}`)
		}))
		defer probe.Close()
		cr := srv.Credentials()
		c3 := newTestClient(t, srv, func(cfg *Config) { cfg.ZoneLookupURL = probe.URL + "/atservicesrest/" })
		require.NoError(t, c3.Check(ctx, co))
		h := <-got
		assert.Equal(t, cr.IntegrationCode, h.Get("ApiIntegrationCode"))
		assert.Equal(t, cr.Username, h.Get("UserName"))
		assert.Equal(t, cr.Secret, h.Get("Secret"))
	})
	t.Run("BaseURL skips zone discovery", func(t *testing.T) {
		c2 := newTestClient(t, srv, func(cfg *Config) {
			cfg.BaseURL = srv.BaseURL() + "V1.0/"
			cfg.ZoneLookupURL = "http://127.0.0.1:1/unused/"
		})
		require.NoError(t, c2.Check(ctx, co))
	})
}

// TestBadInput: each bad setting gets an error naming it, without the secret.
func TestBadInput(t *testing.T) {
	ctx := context.Background()
	srv := newEmulator(t, autotasktest.Options{})
	co := srv.AddCompany("Acme")
	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, "<html><body>Not Found</body></html>")
	}))
	t.Cleanup(html.Close)
	for _, tc := range []struct {
		name    string
		edit    func(*Config)
		company int64
		is      error
		names   string
	}{
		{"wrong secret", func(c *Config) { c.Secret = adsync.NewSecret("wrong-secret-value") }, co, adsync.ErrUnauthorized, "autotask.secret"},
		{"unknown user name", func(c *Config) { c.Username = "nobody@example.com" }, co, adsync.ErrUnauthorized, "autotask.username"},
		{"integration code refused", func(c *Config) { c.IntegrationCode = "NOT-A-CODE" }, co, adsync.ErrUnauthorized, "autotask.integrationCode"},
		{"base URL not an Autotask REST root", func(c *Config) { c.BaseURL = html.URL + "/ATServicesRest/" }, co, adsync.ErrNotFound, "autotask.baseUrl"},
		{"zone lookup URL not Autotask", func(c *Config) { c.ZoneLookupURL = html.URL + "/" }, co, adsync.ErrUnavailable, "autotask.zoneLookupUrl"},
		{"company that does not exist", nil, 424242, adsync.ErrNotFound, "companyId"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestClient(t, srv, tc.edit)
			err := c.Check(ctx, tc.company)
			require.Error(t, err)
			t.Log(err)
			assert.ErrorIs(t, err, tc.is)
			assert.Contains(t, err.Error(), tc.names)
			assert.NotContains(t, err.Error(), srv.Credentials().Secret)
			assert.NotContains(t, err.Error(), "wrong-secret-value")
		})
	}
	for _, tc := range []struct {
		name  string
		cfg   Config
		field string
	}{
		{"missing integration code", Config{Username: "u", Secret: adsync.NewSecret("s")}, "integrationCode"},
		{"missing user name", Config{IntegrationCode: "c", Secret: adsync.NewSecret("s")}, "username"},
		{"missing secret", Config{IntegrationCode: "c", Username: "u"}, "secret"},
		{"base URL without /ATServicesRest/", Config{IntegrationCode: "c", Username: "u", Secret: adsync.NewSecret("s"), BaseURL: "https://example.com/api/"}, "baseUrl"},
		{"budget share over 1", Config{IntegrationCode: "c", Username: "u", Secret: adsync.NewSecret("s"), BudgetShare: 50}, "budgetShare"},
		{"budget stop below share", Config{IntegrationCode: "c", Username: "u", Secret: adsync.NewSecret("s"), BudgetShare: 0.8, BudgetStop: 0.6}, "budgetStop"},
	} {
		t.Run("Validate: "+tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			var ce *adsync.ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, tc.field, ce.Field)
			assert.ErrorIs(t, err, adsync.ErrInvalidConfig)
		})
	}
	t.Run("a field Autotask rejects is named with the contact", func(t *testing.T) {
		c := newTestClient(t, srv, nil)
		v := ada()
		v[adsync.City] = strings.Repeat("c", 40)
		_, err := c.Create(ctx, adsync.NewContact{CompanyID: co, Values: v})
		assert.ErrorIs(t, err, adsync.ErrValidation)
		assert.Contains(t, err.Error(), "field city")
		assert.Contains(t, err.Error(), "Ada Lovelace <ada@example.com>")
		assert.Empty(t, srv.Contacts(co), "nothing half-created")
	})
	t.Run("create in a missing company fails and creates nothing", func(t *testing.T) {
		c := newTestClient(t, srv, nil)
		_, err := c.Create(ctx, adsync.NewContact{CompanyID: 424242, Values: ada()})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "424242")
		assert.Equal(t, 0, srv.ContactCount())
	})
}

func TestSecretRedacted(t *testing.T) {
	cfg := Config{IntegrationCode: "CODE", Username: "api@example.com", Secret: adsync.NewSecret("s3cr3t-value")}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("cfg", "config", cfg)
	c, err := New(cfg)
	require.NoError(t, err)
	j, err := json.Marshal(cfg)
	require.NoError(t, err)
	var back Config
	require.NoError(t, json.Unmarshal([]byte(`{"integrationCode":"CODE","username":"u","secret":"from-file"}`), &back))
	assert.Equal(t, "from-file", back.Secret.Reveal(), "a configuration file can carry the secret")
	for _, s := range []string{string(j), fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), buf.String(), fmt.Sprint(c), fmt.Sprintf("%#v", &cfg)} {
		assert.NotContains(t, s, "s3cr3t-value")
		assert.Contains(t, s, "api@example.com")
	}
}

// TestNoSecretLeaks formats the Config and the Client, as values and as
// pointers, every way internal/leaktest knows, and finds the secret in none
// of them (issue 11: one secret type, redacted the same way everywhere).
func TestNoSecretLeaks(t *testing.T) {
	const secret = "s3cr3t-value"
	cfg := Config{IntegrationCode: "CODE-1234", Username: "api@example.com", Secret: adsync.NewSecret(secret)}
	c, err := New(cfg)
	require.NoError(t, err)
	// A Client value (copied by reflection: it holds locks) prints its
	// fields by reflection, the configuration's secret among them.
	clientValue := reflect.ValueOf(c).Elem().Interface()
	for what, v := range map[string]any{"Config": cfg, "*Config": &cfg, "Client": clientValue, "*Client": c, "Secret": cfg.Secret} {
		assert.Empty(t, leaktest.Find(v, secret), "%s leaks the secret", what)
	}
	assert.Contains(t, fmt.Sprintf("%v", cfg), "api@example.com", "the rest of the configuration shows")
}

// Issue 10 point 12: no way of printing a Client shows its secret.
func TestClientPrintsWithoutSecret(t *testing.T) {
	cfg := Config{IntegrationCode: "CODE-1234", Username: "api@example.com", Secret: adsync.NewSecret("s3cr3t-value")}
	c, err := New(cfg)
	require.NoError(t, err)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%q"} {
		for name, v := range map[string]any{"*Client": c, "Config": cfg, "*Config": &cfg} {
			out := fmt.Sprintf(verb, v)
			assert.NotContains(t, out, "s3cr3t-value", "%s with %s: %s", name, verb, out)
			assert.NotContains(t, out, hex.EncodeToString([]byte("s3cr3t-value")), "%s with %s", name, verb)
		}
	}
	assert.Contains(t, fmt.Sprintf("%#v", c), "api@example.com", "still says which client it is")
}

func TestRetries(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		fault autotasktest.Fault
		// wantCalls is the number of requests to the faulted path.
		wantCalls int
		wantWait  time.Duration // a wait the backoff must have made; 0: any
	}{
		{"429 with Retry-After is retried after the wait", autotasktest.Fault{Path: "Contacts/query", Status: 429, RetryAfter: "7", Times: 1}, 2, 7 * time.Second},
		{"503 is retried", autotasktest.Fault{Path: "Contacts/query", Status: 503, Times: 2}, 3, 0},
		{"thread limit with status 500 is retried", autotasktest.Fault{Path: "Contacts/query", Status: 500, Errors: []string{autotasktest.ThreadLimitMessage}, Times: 1}, 2, 0},
		{"a connection dropped on a query is retried", autotasktest.Fault{Path: "Contacts/query", Drop: true, Times: 1}, 2, 0},
		{"an unexpected-error 500 on a read is retried", autotasktest.Fault{Path: "Contacts/query", Status: 500, Errors: []string{autotasktest.UnexpectedErrorMessage}, Times: 1}, 2, 0},
		{"a validation 500 is not retried", autotasktest.Fault{Path: "Contacts/query", Status: 500, Errors: []string{"Some business rule."}, Times: 1}, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newEmulator(t, autotasktest.Options{})
			co := srv.AddCompany("Acme")
			_, err := srv.SeedContact(co, autotasktest.Fields{"firstName": "A", "lastName": "B"})
			require.NoError(t, err)
			c := newTestClient(t, srv, nil)
			var sl sleeps
			sl.install(c)
			srv.InjectFault(tc.fault)
			err = c.Contacts(ctx, co, adsync.AllFieldSet, func([]adsync.Contact) error { return nil })
			if tc.wantCalls == 1 {
				assert.ErrorIs(t, err, adsync.ErrValidation)
			} else {
				assert.NoError(t, err)
			}
			assert.Equal(t, tc.wantCalls, srv.CountRequests("POST", "Contacts/query"))
			if tc.wantWait > 0 {
				assert.Contains(t, sl.all(), tc.wantWait)
			}
		})
	}
	t.Run("retries stop after MaxRetries with ErrRateLimited", func(t *testing.T) {
		srv := newEmulator(t, autotasktest.Options{})
		co := srv.AddCompany("Acme")
		c := newTestClient(t, srv, func(cfg *Config) { cfg.MaxRetries = 2 })
		srv.InjectFault(autotasktest.Fault{Path: "Contacts/query", Status: 429, Times: 10})
		err := c.Contacts(ctx, co, 0, func([]adsync.Contact) error { return nil })
		assert.ErrorIs(t, err, adsync.ErrRateLimited)
		assert.True(t, adsync.IsSystemic(err))
		assert.Equal(t, 3, srv.CountRequests("POST", "Contacts/query"))
	})
	t.Run("the context bounds the retries", func(t *testing.T) {
		srv := newEmulator(t, autotasktest.Options{})
		co := srv.AddCompany("Acme")
		c := newTestClient(t, srv, nil)
		cctx, cancel := context.WithCancel(ctx)
		c.backoff.Sleep = func(ctx context.Context, d time.Duration) error { cancel(); return cctx.Err() }
		srv.InjectFault(autotasktest.Fault{Path: "Contacts/query", Status: 503, Times: 10})
		err := c.Contacts(cctx, co, 0, func([]adsync.Contact) error { return nil })
		assert.ErrorIs(t, err, context.Canceled)
	})
}

func TestLostCreate(t *testing.T) {
	ctx := context.Background()
	t.Run("a create whose response was lost after the commit is found, not sent again", func(t *testing.T) {
		srv := newEmulator(t, autotasktest.Options{})
		co := srv.AddCompany("Acme")
		c := newTestClient(t, srv, nil)
		srv.DropResponseAfterWrite(1)
		id, err := c.Create(ctx, adsync.NewContact{CompanyID: co, Values: ada()})
		require.NoError(t, err)
		cs := srv.Contacts(co)
		require.Len(t, cs, 1, "exactly one contact")
		assert.Equal(t, cs[0]["id"], id)
		assert.Equal(t, 1, srv.CountRequests("POST", "/Contacts"))
	})
	t.Run("a create whose request was refused before it was sent is sent again", func(t *testing.T) {
		// A port nobody listens on: the dial fails, nothing reached a server.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		dead := l.Addr().String()
		require.NoError(t, l.Close())
		c, err := New(Config{IntegrationCode: "c", Username: "u", Secret: adsync.NewSecret("s"), BaseURL: "http://" + dead + "/ATServicesRest/", MaxRetries: 1})
		require.NoError(t, err)
		attempts := 0
		c.backoff.Sleep = func(ctx context.Context, d time.Duration) error { attempts++; return ctx.Err() }
		_, err = c.Create(ctx, adsync.NewContact{CompanyID: 1, Values: ada()})
		assert.ErrorIs(t, err, adsync.ErrUnavailable)
		assert.NotErrorIs(t, err, adsync.ErrOutcomeUnknown, "nothing was sent: the outcome is known")
		assert.Equal(t, 2, attempts, "the threshold read and the create, each retried once (MaxRetries 1)")
	})
	// R-RUN-7: a create whose outcome is unknown is never sent again; it is
	// looked up once and, when not found, reported as ErrOutcomeUnknown.
	for _, tc := range []struct {
		name  string
		fault autotasktest.Fault
	}{
		{"a connection dropped after sending", autotasktest.Fault{Drop: true}},
		{"a lost answer of a create Autotask commits late", autotasktest.Fault{AfterWrite: true, Drop: true, CommitDelay: time.Minute}},
		{"an answer held past the client's timeout, committed late", autotasktest.Fault{AfterWrite: true, Delay: time.Hour, CommitDelay: time.Minute}},
		{"a truncated body of a create committed late", autotasktest.Fault{Truncate: true, CommitDelay: time.Minute}},
		{"a 503 after the write, committed late", autotasktest.Fault{AfterWrite: true, Status: 503, CommitDelay: time.Minute}},
		{"a 502 after the write, committed late", autotasktest.Fault{AfterWrite: true, Status: 502, CommitDelay: time.Minute}},
		{"a 504 after the write, committed late", autotasktest.Fault{AfterWrite: true, Status: 504, CommitDelay: time.Minute}},
		{"an unexpected-error 500 after the write, committed late", autotasktest.Fault{AfterWrite: true, Status: 500, Errors: []string{autotasktest.UnexpectedErrorMessage}, CommitDelay: time.Minute}},
		{"a 503 before the write", autotasktest.Fault{Status: 503}},
	} {
		t.Run("R-RUN-7 "+tc.name+": looked up, not found, ErrOutcomeUnknown, never re-sent", func(t *testing.T) {
			srv := newEmulator(t, autotasktest.Options{})
			co := srv.AddCompany("Acme")
			c := newTestClient(t, srv, func(cfg *Config) {
				hc := srv.Client()
				hc.Timeout = 200 * time.Millisecond // the answer held by Delay outlives it
				cfg.HTTPClient = hc
			})
			f := tc.fault
			f.Method, f.Path = "POST", "/Contacts"
			f.Times = 1
			srv.InjectFault(f)
			id, err := c.Create(ctx, adsync.NewContact{CompanyID: co, Values: ada()})
			require.Error(t, err)
			t.Log(err)
			assert.Zero(t, id)
			assert.ErrorIs(t, err, adsync.ErrOutcomeUnknown)
			assert.NotErrorIs(t, err, adsync.ErrValidation)
			assert.False(t, adsync.IsSystemic(err), "one contact's unknown outcome does not stop the run")
			assert.Contains(t, err.Error(), "Ada Lovelace <ada@example.com>")
			assert.Equal(t, 1, srv.CountRequests("POST", "/Contacts"), "sent once, never again")
			assert.Equal(t, 1, srv.CountRequests("POST", "Contacts/query"), "one look-up")
			assert.LessOrEqual(t, len(srv.Contacts(co)), 1, "never two contacts")
		})
	}
	t.Run("R-RUN-7 a 503 after the write, visible at once: found by the look-up", func(t *testing.T) {
		srv := newEmulator(t, autotasktest.Options{})
		co := srv.AddCompany("Acme")
		c := newTestClient(t, srv, nil)
		srv.InjectFault(autotasktest.Fault{Method: "POST", Path: "/Contacts", AfterWrite: true, Status: 503, Times: 1})
		id, err := c.Create(ctx, adsync.NewContact{CompanyID: co, Values: ada()})
		require.NoError(t, err)
		cs := srv.Contacts(co)
		require.Len(t, cs, 1)
		assert.Equal(t, cs[0]["id"], id)
		assert.Equal(t, 1, srv.CountRequests("POST", "/Contacts"))
	})
	t.Run("a validation 500 on a create is refused, not looked up", func(t *testing.T) {
		srv := newEmulator(t, autotasktest.Options{})
		co := srv.AddCompany("Acme")
		c := newTestClient(t, srv, nil)
		srv.InjectFault(autotasktest.Fault{Method: "POST", Path: "/Contacts", Status: 500, Errors: []string{"Some business rule."}, Times: 1})
		_, err := c.Create(ctx, adsync.NewContact{CompanyID: co, Values: ada()})
		assert.ErrorIs(t, err, adsync.ErrValidation)
		assert.NotErrorIs(t, err, adsync.ErrOutcomeUnknown)
		assert.Equal(t, 0, srv.CountRequests("POST", "Contacts/query"))
	})
	t.Run("R-RUN-7 a 429 on a create was not executed: it is sent again", func(t *testing.T) {
		srv := newEmulator(t, autotasktest.Options{})
		co := srv.AddCompany("Acme")
		c := newTestClient(t, srv, nil)
		srv.InjectFault(autotasktest.Fault{Method: "POST", Path: "/Contacts", Status: 429, Times: 1})
		srv.InjectFault(autotasktest.Fault{Method: "POST", Path: "/Contacts", Status: 500, Errors: []string{autotasktest.ThreadLimitMessage}, Times: 1})
		id, err := c.Create(ctx, adsync.NewContact{CompanyID: co, Values: ada()})
		require.NoError(t, err)
		assert.NotZero(t, id)
		assert.Len(t, srv.Contacts(co), 1)
		assert.Equal(t, 3, srv.CountRequests("POST", "/Contacts"))
	})
	t.Run("R-RUN-7 when the look-up fails too, the error says the contact may exist", func(t *testing.T) {
		srv := newEmulator(t, autotasktest.Options{})
		co := srv.AddCompany("Acme")
		c := newTestClient(t, srv, func(cfg *Config) { cfg.MaxRetries = 1 })
		srv.DropResponseAfterWrite(1)
		srv.InjectFault(autotasktest.Fault{Path: "Contacts/query", Status: 503, Times: 5})
		_, err := c.Create(ctx, adsync.NewContact{CompanyID: co, Values: ada()})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "may or may not exist")
		assert.ErrorIs(t, err, adsync.ErrOutcomeUnknown)
		assert.Equal(t, 1, srv.CountRequests("POST", "/Contacts"), "never sent blindly again")
	})
	t.Run("R-RUN-7 issue 10 point 4: a look-up failing with a plain 500 is ErrOutcomeUnknown, not ErrValidation", func(t *testing.T) {
		srv := newEmulator(t, autotasktest.Options{})
		co := srv.AddCompany("Acme")
		c := newTestClient(t, srv, nil)
		srv.DropResponseAfterWrite(1)
		srv.InjectFault(autotasktest.Fault{Path: "Contacts/query", Status: 500, Errors: []string{"Some server trouble."}, Times: 1})
		_, err := c.Create(ctx, adsync.NewContact{CompanyID: co, Values: ada()})
		require.Error(t, err)
		t.Log(err)
		assert.ErrorIs(t, err, adsync.ErrOutcomeUnknown)
		assert.NotErrorIs(t, err, adsync.ErrValidation, "the contact exists: the journal entry must not be dropped as refused")
		assert.Len(t, srv.Contacts(co), 1)
		assert.Equal(t, 1, srv.CountRequests("POST", "/Contacts"))
	})
	t.Run("R-RUN-7 issue 10 point 5: a create answered 200 without an id is looked up, never (0, nil)", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			fault autotasktest.Fault
			found bool
		}{
			{"no id, visible", autotasktest.Fault{NoItemID: true}, true},
			{"no id, committed late", autotasktest.Fault{NoItemID: true, CommitDelay: time.Minute}, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				srv := newEmulator(t, autotasktest.Options{})
				co := srv.AddCompany("Acme")
				c := newTestClient(t, srv, nil)
				f := tc.fault
				f.Method, f.Path = "POST", "/Contacts"
				f.Times = 1
				srv.InjectFault(f)
				id, err := c.Create(ctx, adsync.NewContact{CompanyID: co, Values: ada()})
				assert.Equal(t, 1, srv.CountRequests("POST", "Contacts/query"), "one look-up")
				assert.Equal(t, 1, srv.CountRequests("POST", "/Contacts"))
				if !tc.found {
					assert.Zero(t, id)
					assert.ErrorIs(t, err, adsync.ErrOutcomeUnknown)
					return
				}
				require.NoError(t, err)
				assert.Equal(t, srv.Contacts(co)[0]["id"], id)
			})
		}
		for _, body := range []string{`{"itemId":0}`, `{"itemId":"x"}`, `not json`} {
			t.Run("answer "+body, func(t *testing.T) {
				var posts, queries atomic.Int32
				probe := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if strings.HasSuffix(r.URL.Path, "/query") {
						queries.Add(1)
						fmt.Fprint(w, `{"items":[],"pageDetails":{"count":0}}`)
						return
					}
					if strings.HasSuffix(r.URL.Path, "ThresholdInformation") {
						fmt.Fprint(w, `{"externalRequestThreshold":10000,"requestThresholdTimeframe":60,"currentTimeframeRequestCount":1}`)
						return
					}
					posts.Add(1)
					fmt.Fprint(w, body)
				}))
				defer probe.Close()
				c, err := New(Config{IntegrationCode: "c", Username: "u", Secret: adsync.NewSecret("s"), BaseURL: probe.URL + "/ATServicesRest/"})
				require.NoError(t, err)
				id, err := c.Create(ctx, adsync.NewContact{CompanyID: 1, Values: ada()})
				assert.Zero(t, id)
				assert.ErrorIs(t, err, adsync.ErrOutcomeUnknown)
				assert.Equal(t, int32(1), posts.Load())
				assert.Equal(t, int32(1), queries.Load())
			})
		}
	})
	t.Run("an update whose response was lost is sent again (PATCH is idempotent)", func(t *testing.T) {
		srv := newEmulator(t, autotasktest.Options{})
		co := srv.AddCompany("Acme")
		id, err := srv.SeedContact(co, autotasktest.Fields{"firstName": "A", "lastName": "B"})
		require.NoError(t, err)
		c := newTestClient(t, srv, nil)
		srv.DropResponseAfterWrite(1)
		u := adsync.ContactUpdate{ContactID: id, CompanyID: co, Fields: adsync.NewFieldSet(adsync.Title)}
		u.Values[adsync.Title] = "CTO"
		require.NoError(t, c.Update(ctx, u))
		f, _ := srv.Contact(id)
		assert.Equal(t, "CTO", f["title"])
	})
}

func TestWireFormat(t *testing.T) {
	ctx := context.Background()
	srv := newEmulator(t, autotasktest.Options{})
	co := srv.AddCompany("Acme")
	c := newTestClient(t, srv, nil)
	id, err := c.Create(ctx, adsync.NewContact{CompanyID: co, Values: ada()})
	require.NoError(t, err)
	t.Run("R-FIELD-3 an update PATCHes the id and the changed fields only, never PUT", func(t *testing.T) {
		srv.ResetRequests()
		off := false
		u := adsync.ContactUpdate{ContactID: id, CompanyID: co, Fields: adsync.NewFieldSet(adsync.Title, adsync.CountryID), Active: &off}
		u.Values[adsync.Title], u.Values[adsync.CountryID] = "CTO", "237"
		require.NoError(t, c.Update(ctx, u))
		rs := srv.Requests()
		var body map[string]any
		for _, r := range rs {
			assert.NotEqual(t, "PUT", r.Method)
			if r.Method == "PATCH" {
				require.NoError(t, json.Unmarshal([]byte(r.Body), &body))
				assert.Equal(t, "Companies/"+itoa(co)+"/Contacts", r.Path)
			}
		}
		assert.Equal(t, map[string]any{"id": float64(id), "title": "CTO", "countryID": float64(237), "isActive": float64(0)}, body)
	})
	t.Run("the id cursor with IncludeFields and MaxRecords 500", func(t *testing.T) {
		srv.ResetRequests()
		require.NoError(t, c.Contacts(ctx, co, adsync.NewFieldSet(adsync.Email), func([]adsync.Contact) error { return nil }))
		var q map[string]any
		for _, r := range srv.Requests() {
			if r.Path == "Contacts/query" {
				require.NoError(t, json.Unmarshal([]byte(r.Body), &q))
			}
		}
		// The contract's casing (QueryModel: maxRecords, includeFields, filter).
		assert.Equal(t, float64(500), q["maxRecords"])
		assert.ElementsMatch(t, []any{"id", "companyID", "isActive", "lastModifiedDate", "emailAddress"}, q["includeFields"])
		assert.Contains(t, fmt.Sprint(q["filter"]), "op:gt")
		assert.NotContains(t, q, "MaxRecords")
	})
	t.Run("isActive 0/1, blanks as empty, countryID as a decimal string", func(t *testing.T) {
		var got adsync.Contact
		require.NoError(t, c.Contacts(ctx, co, adsync.AllFieldSet, func(cs []adsync.Contact) error { got = cs[0]; return nil }))
		assert.False(t, got.Active)
		assert.Equal(t, "237", got.Values[adsync.CountryID])
		assert.Equal(t, "", got.Values[adsync.Phone])
		assert.False(t, got.LastModified.IsZero())
	})
	t.Run("\"\" and null both read as blank", func(t *testing.T) {
		var w wireContact
		require.NoError(t, json.Unmarshal([]byte(`{"id":1,"isActive":1,"title":"","city":null,"countryID":237,"phone":"555"}`), &w))
		c := w.contact("")
		assert.Equal(t, "", c.Values[adsync.Title])
		assert.Equal(t, "", c.Values[adsync.City])
		assert.Equal(t, "237", c.Values[adsync.CountryID])
		assert.True(t, c.Active)
	})
	t.Run("R-FIELD-6 countries by ISO code, cached", func(t *testing.T) {
		srv.ResetRequests()
		cs, err := c.Countries(ctx)
		require.NoError(t, err)
		_, err = c.Countries(ctx)
		require.NoError(t, err)
		byCode := map[string]int64{}
		for _, x := range cs {
			byCode[x.Code] = x.ID
		}
		assert.Equal(t, int64(237), byCode["US"])
		assert.Len(t, cs, len(autotasktest.DefaultCountries()))
		assert.Equal(t, 1, srv.CountRequests("POST", "Countries/query"))
	})
	t.Run("R-FIELD-7 billing product through ContactBillingProductAssociations", func(t *testing.T) {
		p := srv.AddBillingProduct("Seat")
		require.NoError(t, c.AssignBillingProduct(ctx, id, p))
		assert.Equal(t, []int64{p}, srv.BillingProducts(id))
		posts := srv.CountRequests("POST", "Contacts/"+strconv.FormatInt(id, 10)+"/BillingProductAssociations")
		require.NoError(t, c.AssignBillingProduct(ctx, id, p), "assigning again after a crash succeeds")
		assert.Equal(t, []int64{p}, srv.BillingProducts(id), "and does not duplicate the association")
		assert.Equal(t, posts, srv.CountRequests("POST", "Contacts/"+strconv.FormatInt(id, 10)+"/BillingProductAssociations"))
		err := c.AssignBillingProduct(ctx, id, 1)
		assert.ErrorIs(t, err, adsync.ErrValidation)
		assert.Contains(t, err.Error(), "billingProductID")
	})
	t.Run("§3.1 count and §5.1 threshold", func(t *testing.T) {
		n, err := c.CountContacts(ctx, co)
		require.NoError(t, err)
		assert.Equal(t, len(srv.Contacts(co)), n)
		th, err := c.Threshold(ctx)
		require.NoError(t, err)
		assert.Equal(t, autotasktest.DefaultHourlyLimit, th.Limit)
		assert.Equal(t, time.Hour, th.Timeframe)
		assert.Equal(t, srv.RollingHourCount(), th.Used)
	})
	t.Run("ImpersonationResourceId is sent", func(t *testing.T) {
		got := make(chan string, 1)
		probe := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case got <- r.Header.Get("ImpersonationResourceId"):
			default:
			}
			w.WriteHeader(200)
			fmt.Fprint(w, `{"queryCount":1}`)
		}))
		defer probe.Close()
		c2, err := New(Config{IntegrationCode: "c", Username: "u", Secret: adsync.NewSecret("s"), BaseURL: probe.URL + "/ATServicesRest/", ImpersonationResourceID: 29682885})
		require.NoError(t, err)
		require.NoError(t, c2.Check(ctx, 1))
		assert.Equal(t, "29682885", <-got)
	})
}

// Issue 14: a contact this client just created has no billing product, so
// the first assignment is not preceded by a check; any other assignment is
// (R-FIELD-7: assigning again must not duplicate the association).
func TestBillingWithoutCheckForOwnCreates(t *testing.T) {
	ctx := context.Background()
	srv := newEmulator(t, autotasktest.Options{})
	co := srv.AddCompany("Acme")
	p := srv.AddBillingProduct("Seat")
	c := newTestClient(t, srv, nil)
	checks := func() int { return srv.CountRequests("POST", "ContactBillingProductAssociations/query") }
	id, err := c.Create(ctx, adsync.NewContact{CompanyID: co, Values: ada()})
	require.NoError(t, err)
	require.NoError(t, c.AssignBillingProduct(ctx, id, p))
	assert.Equal(t, 0, checks(), "R-FIELD-7 no check before the first assignment to a contact created here")
	assert.Equal(t, []int64{p}, srv.BillingProducts(id))
	require.NoError(t, c.AssignBillingProduct(ctx, id, p), "assigning again")
	assert.Equal(t, 1, checks(), "R-FIELD-7 assigning again checks first")
	assert.Equal(t, []int64{p}, srv.BillingProducts(id), "and does not duplicate")
	seeded, err := srv.SeedContact(co, autotasktest.Fields{"firstName": "Old", "lastName": "Contact"})
	require.NoError(t, err)
	require.NoError(t, c.AssignBillingProduct(ctx, seeded, p))
	assert.Equal(t, 2, checks(), "R-FIELD-7 a contact this client did not create is checked")
	t.Run("the memory of fresh contacts is bounded", func(t *testing.T) {
		c := newTestClient(t, srv, nil)
		for i := range int64(freshCap + 10) {
			c.markFresh(i + 1)
		}
		assert.Len(t, c.fresh, freshCap)
		assert.False(t, c.takeFresh(1), "the oldest is forgotten (and will be checked)")
		assert.True(t, c.takeFresh(freshCap+10))
	})
	t.Run("R-RUN-7 a lost association is looked up and never sent again", func(t *testing.T) {
		other, err := c.Create(ctx, adsync.NewContact{CompanyID: co, Values: adsync.Values{adsync.FirstName: "Lost", adsync.LastName: "Billing"}})
		require.NoError(t, err)
		srv.InjectFault(autotasktest.Fault{Method: "POST", Path: "/BillingProductAssociations", Status: 503, Times: 1})
		err = c.AssignBillingProduct(ctx, other, p)
		assert.ErrorIs(t, err, adsync.ErrOutcomeUnknown)
		assert.Equal(t, 1, srv.CountRequests("POST", "Contacts/"+itoa(other)+"/BillingProductAssociations"))
	})
}

func TestInFlightLimit(t *testing.T) {
	ctx := context.Background()
	srv := newEmulator(t, autotasktest.Options{})
	co := srv.AddCompany("Acme")
	c := newTestClient(t, srv, nil)
	require.NoError(t, c.Check(ctx, co))
	srv.SetLatency(20 * time.Millisecond)
	srv.ResetRequests()
	var wg sync.WaitGroup
	errs := make([]error, 12)
	for i := range errs {
		wg.Go(func() {
			v := ada()
			v[adsync.LastName] = fmt.Sprintf("Lovelace%d", i)
			_, errs[i] = c.Create(ctx, adsync.NewContact{CompanyID: co, Values: v})
		})
	}
	wg.Wait()
	assert.NoError(t, errors.Join(errs...))
	assert.Equal(t, 3, srv.MaxConcurrent("Contacts"), "§5.2 never more than 3 in flight")
	assert.Equal(t, 0, srv.ThreadRejections())
	assert.Len(t, srv.Contacts(co), 12)
}

// Issue 14: the client keeps as many idle connections per host as it has
// requests in flight, so that writes at the thread limit reuse them rather
// than open (and, in production, TLS-handshake) new ones.
func TestConnectionsReused(t *testing.T) {
	ctx := context.Background()
	srv := newEmulator(t, autotasktest.Options{})
	co := srv.AddCompany("Acme")
	p := srv.AddBillingProduct("Seat")
	c := newTestClient(t, srv, nil)
	require.NoError(t, c.Check(ctx, co))
	srv.SetLatency(2 * time.Millisecond)
	before := srv.Connections()
	for round := range 10 {
		var wg sync.WaitGroup
		errs := make([]error, 6)
		for i := range errs {
			wg.Go(func() {
				v := ada()
				v[adsync.LastName] = fmt.Sprintf("Lovelace%d-%d", round, i)
				id, err := c.Create(ctx, adsync.NewContact{CompanyID: co, Values: v})
				if err == nil {
					err = c.AssignBillingProduct(ctx, id, p)
				}
				errs[i] = err
			})
		}
		wg.Wait()
		require.NoError(t, errors.Join(errs...))
	}
	// Two endpoints (contacts and billing associations) with 3 in flight
	// each, and the budget's ThresholdInformation read (one per 100 calls),
	// which may be in flight with them: at most 7 connections, opened once.
	assert.LessOrEqual(t, srv.Connections()-before, 2*DefaultMaxInFlight+1, "connections opened for 120 calls")
	assert.Zero(t, srv.Client().Transport.(*http.Transport).MaxIdleConnsPerHost, "the HTTP client given is not changed")
}

func TestBudget(t *testing.T) {
	ctx := context.Background()
	t.Run("§5.1 past the share the client slows down", func(t *testing.T) {
		srv := newEmulator(t, autotasktest.Options{HourlyLimit: 1000})
		co := srv.AddCompany("Acme")
		srv.AddUsage(600)
		c := newTestClient(t, srv, nil)
		var sl sleeps
		sl.install(c)
		for range 3 {
			require.NoError(t, c.Check(ctx, co))
		}
		waits := sl.all()
		require.NotEmpty(t, waits)
		// No time passes under the fake sleep, so each paced call waits one
		// more interval (hour/limit) than the one before.
		for i, w := range waits {
			assert.LessOrEqual(t, w, time.Duration(i+1)*time.Hour/1000)
		}
	})
	t.Run("§5.1 at the stop share the run ends with ErrBudgetExhausted and writes nothing", func(t *testing.T) {
		srv := newEmulator(t, autotasktest.Options{HourlyLimit: 1000})
		co := srv.AddCompany("Acme")
		srv.AddUsage(900)
		c := newTestClient(t, srv, nil)
		_, err := c.Create(ctx, adsync.NewContact{CompanyID: co, Values: ada()})
		assert.ErrorIs(t, err, adsync.ErrBudgetExhausted)
		assert.True(t, adsync.IsSystemic(err))
		assert.Contains(t, err.Error(), "autotask.budgetStop")
		assert.Empty(t, srv.Contacts(co))
		assert.Equal(t, 0, srv.CountRequests("POST", ""), "only the threshold was read")
	})
}

// Issue 10 point 9: without a threshold reading the client paces from its
// own count of calls against Autotask's documented limit and stops at the
// configured share; it tries the reading again now and then.
func TestBudgetWithoutThreshold(t *testing.T) {
	ctx := context.Background()
	srv := newEmulator(t, autotasktest.Options{})
	co := srv.AddCompany("Acme")
	var logs bytes.Buffer
	c := newTestClient(t, srv, func(cfg *Config) {
		cfg.ThresholdEvery = 10
		cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	var sl sleeps
	sl.install(c)
	c.budget.fallback = 100 // stands in for the documented 10,000 an hour
	srv.InjectFault(autotasktest.Fault{Path: "ThresholdInformation", Status: 500, Errors: []string{autotasktest.UnexpectedErrorMessage}, Times: 1000})
	var err error
	for range 200 {
		if _, err = c.CountContacts(ctx, co); err != nil {
			break
		}
	}
	require.Error(t, err)
	assert.ErrorIs(t, err, adsync.ErrBudgetExhausted)
	var be *BudgetError
	require.ErrorAs(t, err, &be)
	assert.True(t, be.OwnCount)
	assert.Contains(t, err.Error(), "ThresholdInformation")
	counts := srv.CountRequests("POST", "Contacts/query/count")
	reads := srv.CountRequests("GET", "ThresholdInformation")
	assert.LessOrEqual(t, counts+reads, 90, "stopped at 90 %% of the assumed limit, every call counted")
	assert.GreaterOrEqual(t, counts+reads, 85)
	assert.GreaterOrEqual(t, reads, 2, "the reading is tried again")
	assert.LessOrEqual(t, reads, 2*(1+counts/10), "but not on every call (a failed reading is tried twice)")
	assert.NotEmpty(t, sl.all(), "paced past the share")
	assert.Contains(t, logs.String(), "own count")
}

// TestBudgetPacing drives the budget alone with a fake clock.
func TestBudgetPacing(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var slept []time.Duration
	b := &budget{share: 0.5, stop: 0.9, every: 1000, now: func() time.Time { return now },
		sleep: func(ctx context.Context, d time.Duration) error { slept = append(slept, d); return nil }}
	b.update(threshold{ExternalRequestThreshold: 3600, CurrentTimeframeRequestCount: 1000})
	ctx := context.Background()
	require.NoError(t, b.admit(ctx, nil))
	assert.Empty(t, slept, "under the share: no wait")
	b.update(threshold{ExternalRequestThreshold: 3600, CurrentTimeframeRequestCount: 2000})
	warned := 0
	for range 3 {
		require.NoError(t, b.admit(ctx, func(int, int, bool) { warned++ }))
	}
	assert.Equal(t, []time.Duration{0, time.Second, 2 * time.Second}[1:], slept, "one call per hour/limit")
	assert.Equal(t, 1, warned)
	b.update(threshold{ExternalRequestThreshold: 3600, CurrentTimeframeRequestCount: 3240})
	var be *BudgetError
	require.ErrorAs(t, b.admit(ctx, nil), &be)
	assert.Equal(t, 3600, be.Limit)
}

// The own count is kept only while no reading exists, so it stays small.
func TestBudgetOwnCountBounded(t *testing.T) {
	b := &budget{share: 0.5, stop: 0.9, every: 3, fallback: 100, now: time.Now}
	for range 5 {
		b.record()
	}
	used, limit, own := b.state()
	assert.Equal(t, []any{5, 100, true}, []any{used, limit, own})
	b.update(threshold{ExternalRequestThreshold: 10000, CurrentTimeframeRequestCount: 42})
	for range 5 {
		b.record()
	}
	assert.Empty(t, b.own, "not kept once a reading exists")
	used, limit, own = b.state()
	assert.Equal(t, []any{42, 10000, false}, []any{used, limit, own})
}

func TestBudgetRefreshFailure(t *testing.T) {
	b := &budget{share: 0.5, stop: 0.9, every: 3, now: time.Now}
	require.True(t, b.needRefresh())
	b.refreshFailed()
	ctx := context.Background()
	for range 3 {
		assert.False(t, b.needRefresh(), "a failed read is not retried on every call")
		require.NoError(t, b.admit(ctx, nil))
	}
	assert.True(t, b.needRefresh(), "but again after ThresholdEvery calls")
}

// TestLogsWithoutSecret runs failing and retried calls with a debug logger
// and checks that the log never carries the secret.
func TestLogsWithoutSecret(t *testing.T) {
	ctx := context.Background()
	srv := newEmulator(t, autotasktest.Options{})
	co := srv.AddCompany("Acme")
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := newTestClient(t, srv, func(cfg *Config) { cfg.Logger = logger })
	srv.InjectFault(autotasktest.Fault{Path: "Contacts/query", Status: 503, Times: 1})
	srv.InjectFault(autotasktest.Fault{Path: "Contacts/query", Drop: true, Times: 1})
	require.NoError(t, c.Contacts(ctx, co, 0, func([]adsync.Contact) error { return nil }))
	srv.DropResponseAfterWrite(1)
	_, err := c.Create(ctx, adsync.NewContact{CompanyID: co, Values: ada()})
	require.NoError(t, err)
	bad := newTestClient(t, srv, func(cfg *Config) { cfg.Logger = logger; cfg.Secret = adsync.NewSecret("wrong-secret-value") })
	require.Error(t, bad.Check(ctx, co))
	require.NotEmpty(t, buf.String())
	assert.NotContains(t, buf.String(), srv.Credentials().Secret)
	assert.NotContains(t, buf.String(), "wrong-secret-value")
}

// silentServer accepts connections, reads each request's first line and
// never answers. It returns its address and a function listing the
// requests' paths so far.
func silentServer(t *testing.T) (string, func() []string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var mu sync.Mutex
	var paths []string
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
			go func() {
				buf := make([]byte, 4096)
				n, _ := conn.Read(buf)
				line, _, _ := strings.Cut(string(buf[:n]), "\r\n")
				if f := strings.Fields(line); len(f) >= 2 {
					mu.Lock()
					paths = append(paths, f[1])
					mu.Unlock()
				}
				<-done // never answers
			}()
		}
	}()
	t.Cleanup(func() {
		close(done)
		_ = l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return l.Addr().String(), func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), paths...)
	}
}

// Issue 10 point 10: a read-only check against an endpoint that accepts
// connections and never answers gives up after one bounded attempt per
// call, not six.
func TestCheckAgainstSilentEndpoint(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		cfg  func(addr string) Config
		want []string // request paths, each once
		// host is how the message names the silent host (issue 13).
		host string
	}{
		{"zone lookup", func(addr string) Config {
			return Config{IntegrationCode: "c", Username: "u@example.com", Secret: adsync.NewSecret("s"), ZoneLookupURL: "http://" + addr + "/atservicesrest/"}
		}, []string{"/atservicesrest/v1.0/zoneInformation?user=u%40example.com"}, "the zone lookup host "},
		{"threshold and company", func(addr string) Config {
			return Config{IntegrationCode: "c", Username: "u", Secret: adsync.NewSecret("s"), BaseURL: "http://" + addr + "/ATServicesRest/"}
		}, []string{"/ATServicesRest/V1.0/ThresholdInformation"}, "the API host "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, paths := silentServer(t)
			cfg := tc.cfg(addr)
			cfg.CheckTimeout = 50 * time.Millisecond
			c, err := New(cfg)
			require.NoError(t, err)
			var sl sleeps
			sl.install(c)
			err = c.Check(ctx, 174)
			require.Error(t, err)
			t.Log(err)
			assert.ErrorIs(t, err, adsync.ErrUnavailable)
			assert.Contains(t, err.Error(), "autotask.checkTimeout")
			assert.Contains(t, err.Error(), tc.host+addr+" accepts connections but gave no answer")
			assert.ElementsMatch(t, tc.want, paths(), "one attempt per call, no retry of a timeout")
			assert.Empty(t, sl.all(), "no backoff: nothing was retried")
		})
	}
	t.Run("company check", func(t *testing.T) {
		var mu sync.Mutex
		var paths []string
		probe := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			paths = append(paths, r.URL.Path)
			mu.Unlock()
			if strings.HasSuffix(r.URL.Path, "ThresholdInformation") {
				fmt.Fprint(w, `{"externalRequestThreshold":10000,"requestThresholdTimeframe":60,"currentTimeframeRequestCount":1}`)
				return
			}
			_, _ = io.Copy(io.Discard, r.Body) // so that the server notices the client leave
			<-r.Context().Done()               // never answers
		}))
		defer probe.Close()
		c, err := New(Config{IntegrationCode: "c", Username: "u", Secret: adsync.NewSecret("s"), BaseURL: probe.URL + "/ATServicesRest/", CheckTimeout: 50 * time.Millisecond})
		require.NoError(t, err)
		var sl sleeps
		sl.install(c)
		err = c.Check(ctx, 174)
		assert.ErrorIs(t, err, adsync.ErrUnavailable)
		assert.Contains(t, err.Error(), "autotask.checkTimeout")
		mu.Lock()
		defer mu.Unlock()
		assert.Equal(t, []string{"/ATServicesRest/V1.0/ThresholdInformation", "/ATServicesRest/V1.0/Companies/query/count"}, paths)
		assert.Empty(t, sl.all())
	})
	t.Run("Validate: checkTimeout", func(t *testing.T) {
		_, err := New(Config{IntegrationCode: "c", Username: "u", Secret: adsync.NewSecret("s"), CheckTimeout: -time.Second})
		var ce *adsync.ConfigError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, "checkTimeout", ce.Field)
	})
}

// R-RUN-7 soak of the client alone: creates under a seeded mix of lost
// answers, late commits, 5xx before and after the write, truncated bodies,
// answers without an id and throttling. Whatever each create answers, no
// user ever gets two contacts, an id returned is the user's one contact,
// and a create reported as ErrOutcomeUnknown made at most one.
func TestLostCreateSoak(t *testing.T) {
	ctx := context.Background()
	srv := newEmulator(t, autotasktest.Options{Seed: 7})
	co := srv.AddCompany("Acme")
	c := newTestClient(t, srv, func(cfg *Config) {
		hc := srv.Client()
		hc.Timeout = 500 * time.Millisecond
		cfg.HTTPClient = hc
	})
	require.NoError(t, c.Check(ctx, co))
	late := time.Minute
	srv.SetRandomFaults(0.4,
		autotasktest.Fault{Method: "POST", Path: "/Contacts", AfterWrite: true, Drop: true},
		autotasktest.Fault{Method: "POST", Path: "/Contacts", AfterWrite: true, Drop: true, CommitDelay: late},
		autotasktest.Fault{Method: "POST", Path: "/Contacts", AfterWrite: true, Status: 503, CommitDelay: late},
		autotasktest.Fault{Method: "POST", Path: "/Contacts", AfterWrite: true, Status: 502},
		autotasktest.Fault{Method: "POST", Path: "/Contacts", Truncate: true, CommitDelay: late},
		autotasktest.Fault{Method: "POST", Path: "/Contacts", NoItemID: true},
		autotasktest.Fault{Method: "POST", Path: "/Contacts", Drop: true},
		autotasktest.Fault{Method: "POST", Path: "/Contacts", Status: 503},
		autotasktest.Fault{Method: "POST", Path: "/Contacts", Status: 429},
		autotasktest.Fault{Path: "Contacts/query", Status: 503},
	)
	const users = 120
	type result struct {
		id  int64
		err error
	}
	results := make([]result, users)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 3)
	for i := range users {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			v := ada()
			v[adsync.LastName] = fmt.Sprintf("Soak%03d", i)
			v[adsync.Email] = fmt.Sprintf("soak%03d@example.com", i)
			results[i].id, results[i].err = c.Create(ctx, adsync.NewContact{CompanyID: co, Values: v})
		})
	}
	wg.Wait()
	srv.SetRandomFaults(0)
	srv.Advance(late) // every late commit is visible now
	byName := map[string][]int64{}
	for _, f := range srv.Contacts(co) {
		byName[f["lastName"].(string)] = append(byName[f["lastName"].(string)], f["id"].(int64))
	}
	unknown, created := 0, 0
	for i, r := range results {
		name := fmt.Sprintf("Soak%03d", i)
		ids := byName[name]
		require.LessOrEqual(t, len(ids), 1, "%s has %d contacts", name, len(ids))
		switch {
		case r.err == nil:
			created++
			require.Equal(t, []int64{r.id}, ids, "%s: the id returned is its contact", name)
		case errors.Is(r.err, adsync.ErrOutcomeUnknown):
			unknown++
			require.NotErrorIs(t, r.err, adsync.ErrValidation)
		}
	}
	t.Logf("%d created, %d with an unknown outcome, %d other failures", created, unknown, users-created-unknown)
	assert.Positive(t, unknown, "the mix produced unknown outcomes")
	assert.Positive(t, created)
}

// R-DEACT-9: Config.ExemptUDF names a contact user-defined field whose
// truthy value marks the contact exempt, read with the contacts.
func TestExemptUDF(t *testing.T) {
	ctx := context.Background()
	srv := newEmulator(t, autotasktest.Options{})
	co := srv.AddCompany("Acme")
	const udf = "Never deactivate"
	type seeded struct {
		name, value string // UDF set on the contact; name "" for none
		exempt      bool
	}
	cases := map[string]seeded{
		"true":                 {udf, "true", true},
		"TRUE trimmed":         {udf, "  TRUE ", true},
		"yes":                  {udf, "Yes", true},
		"y":                    {udf, "y", true},
		"1":                    {udf, "1", true},
		"x":                    {udf, "X", true},
		"name in another case": {"never DEACTIVATE", "yes", true},
		"false":                {udf, "false", false},
		"no":                   {udf, "no", false},
		"0":                    {udf, "0", false},
		"other text":           {udf, "yes please", false},
		"blank (null)":         {udf, "", false},
		"another UDF truthy":   {"Badge", "1", false},
		"no UDF at all":        {"", "", false},
	}
	ids := map[int64]string{}
	for name, s := range cases {
		id, err := srv.SeedContact(co, autotasktest.Fields{"firstName": "F", "lastName": name})
		require.NoError(t, err)
		if s.name != "" {
			require.NoError(t, srv.SetContactUDF(id, s.name, s.value))
		}
		ids[id] = name
	}
	read := func(t *testing.T, c *Client) map[string]bool {
		got := map[string]bool{}
		require.NoError(t, c.Contacts(ctx, co, adsync.NewFieldSet(adsync.Email), func(cs []adsync.Contact) error {
			for _, x := range cs {
				got[ids[x.ID]] = x.Exempt
			}
			return nil
		}))
		require.Len(t, got, len(cases))
		return got
	}
	t.Run("R-DEACT-9 a truthy value of the named UDF exempts the contact, in the contacts query", func(t *testing.T) {
		c := newTestClient(t, srv, func(cfg *Config) { cfg.ExemptUDF = udf })
		srv.ResetRequests()
		got := read(t, c)
		for name, s := range cases {
			assert.Equal(t, s.exempt, got[name], name)
		}
		assert.Equal(t, 1, srv.CountRequests("POST", "Contacts/query"), "no extra query for the UDF")
		for id, name := range ids {
			one, err := c.GetContact(ctx, id)
			require.NoError(t, err)
			assert.Equal(t, cases[name].exempt, one.Exempt, "GetContact: %s", name)
		}
	})
	t.Run("R-DEACT-9 without ExemptUDF no contact is exempt", func(t *testing.T) {
		for name, exempt := range read(t, newTestClient(t, srv, nil)) {
			assert.False(t, exempt, name)
		}
	})
	t.Run("R-DEACT-9 userDefinedFields left out of the answer: not exempt", func(t *testing.T) {
		srv := newEmulator(t, autotasktest.Options{OmitEmptyUDF: true})
		co := srv.AddCompany("Acme")
		_, err := srv.SeedContact(co, autotasktest.Fields{"firstName": "F", "lastName": "L"})
		require.NoError(t, err)
		c := newTestClient(t, srv, func(cfg *Config) { cfg.ExemptUDF = udf })
		require.NoError(t, c.Contacts(ctx, co, adsync.AllFieldSet, func(cs []adsync.Contact) error {
			require.Len(t, cs, 1)
			assert.False(t, cs[0].Exempt)
			return nil
		}))
	})
	for _, tc := range []struct{ name, udf string }{
		{"spaces around", " Never deactivate"},
		{"line break", "Never\ndeactivate"},
		{"too long", strings.Repeat("n", 101)},
	} {
		t.Run("Validate: exemptUdf "+tc.name, func(t *testing.T) {
			cfg := testConfig(srv)
			cfg.ExemptUDF = tc.udf
			_, err := New(cfg)
			var ce *adsync.ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, "exemptUdf", ce.Field)
		})
	}
}
