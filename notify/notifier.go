package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/psasync/adsync"
)

// Channel delivers alerts to one destination. Send is called from the
// channel's own goroutine, one alert at a time, with a context bounded by
// Config.SendTimeout; an error is retried with backoff. Errors must not
// carry secrets (URLs with tokens, passwords).
type Channel interface {
	// Name identifies the channel in logs and errors, e.g. "slack ops".
	Name() string
	// Send delivers one alert.
	Send(ctx context.Context, a Alert) error
}

// Route is a channel and the alerts it gets.
type Route struct {
	Channel Channel
	// Events selects the events sent to the channel; empty means all.
	Events []Event
	// Orgs selects the organizations whose alerts the channel gets; empty
	// means all. Alerts of no one organization (the API budget) go to
	// every route whatever Orgs says.
	Orgs []string
}

func (r *Route) wants(a *Alert) bool {
	if len(r.Events) > 0 && !slices.Contains(r.Events, a.Event) {
		return false
	}
	return a.OrgID == "" || len(r.Orgs) == 0 || slices.Contains(r.Orgs, a.OrgID)
}

// Defaults of Config.
const (
	DefaultRemindAfter = 24 * time.Hour
	DefaultQueueSize   = 100
	DefaultAttempts    = 5
	DefaultBackoff     = 5 * time.Second
	DefaultMaxBackoff  = 5 * time.Minute
	DefaultSendTimeout = 30 * time.Second
)

// Notice keys in the NoticeStore.
const (
	keyRun    = "run"
	keyTLS    = "tls"
	keyBudget = "autotask-budget"
)

// Config configures a Notifier. The zero value of each optional field
// means its documented default.
type Config struct {
	// Routes are the channels and what each gets. A Notifier without
	// routes still records the alert states.
	Routes []Route
	// Store keeps the alert states (the Syncer's HistoryStore). Required.
	Store adsync.NoticeStore
	// OrgEvents selects, per organization id, the events alerted for it;
	// an organization not in the map gets all.
	OrgEvents map[string][]Event
	// RemindAfter is how often an alert is sent again while its state
	// lasts (default 24 h); negative: never. Reminders come with runs: the
	// first run starting at least RemindAfter after the start of the run
	// that alerted reminds.
	RemindAfter time.Duration
	// ConsoleURL, when set, links alerts to the console: "{org}" and
	// "{run}" in it are replaced by the organization and run ids, e.g.
	// "https://adsync.example.com/org/{org}/run/{run}".
	ConsoleURL string
	// QueueSize bounds the runs waiting to be turned into alerts, and
	// each channel's alerts waiting to be sent (default 100).
	QueueSize int
	// Attempts is how many times a delivery is tried (default 5);
	// Backoff the wait after the first failure (default 5 s), doubled
	// after each, at most MaxBackoff (default 5 min).
	Attempts   int
	Backoff    time.Duration
	MaxBackoff time.Duration
	// SendTimeout bounds one delivery attempt (default 30 s).
	SendTimeout time.Duration
	// Logger receives delivery failures and drops; nil discards them.
	Logger *slog.Logger
	// Now returns the current time; nil means time.Now. For tests.
	Now func() time.Time
}

// Validate reports the first bad field.
func (c *Config) Validate() error {
	bad := func(field, format string, args ...any) error {
		return &adsync.ConfigError{Field: "alerts." + field, Problem: fmt.Sprintf(format, args...)}
	}
	if c.Store == nil {
		return bad("store", "is required (the history store keeps the alert states)")
	}
	for i, r := range c.Routes {
		if r.Channel == nil {
			return bad(fmt.Sprintf("channels[%d]", i), "has no channel")
		}
		for _, e := range r.Events {
			if _, err := ParseEvent(string(e)); err != nil {
				return bad(fmt.Sprintf("channels[%d].events", i), "%v", err)
			}
		}
	}
	for org, evs := range c.OrgEvents {
		for _, e := range evs {
			if _, err := ParseEvent(string(e)); err != nil {
				return bad("orgs."+org+".events", "%v", err)
			}
		}
	}
	switch {
	case c.QueueSize < 0:
		return bad("queueSize", "must be positive (0 for the default %d), got %d", DefaultQueueSize, c.QueueSize)
	case c.Attempts < 0:
		return bad("attempts", "must be positive (0 for the default %d), got %d", DefaultAttempts, c.Attempts)
	case c.Backoff < 0 || c.MaxBackoff < 0 || c.SendTimeout < 0:
		return bad("backoff", "durations must be positive (0 for the defaults)")
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.RemindAfter == 0 {
		c.RemindAfter = DefaultRemindAfter
	}
	if c.QueueSize == 0 {
		c.QueueSize = DefaultQueueSize
	}
	if c.Attempts == 0 {
		c.Attempts = DefaultAttempts
	}
	if c.Backoff == 0 {
		c.Backoff = DefaultBackoff
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	if c.SendTimeout == 0 {
		c.SendTimeout = DefaultSendTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Notifier turns runs into alerts and delivers them; see the package
// documentation. It is an adsync.Observer. Close it to deliver what is
// queued and stop its goroutines.
type Notifier struct {
	cfg    Config
	log    *slog.Logger
	ends   chan finished
	queues []chan Alert
	stop   context.Context // cancelled when Close gives up: no more retries
	cancel context.CancelFunc
	wg     sync.WaitGroup

	closeOnce sync.Once
	mu        sync.RWMutex // guards closed against RunFinished
	closed    bool
}

var _ adsync.Observer = (*Notifier)(nil)

// finished is a run's end and when it was observed: alerts are decided
// later, on the Notifier's goroutine, but about that time.
type finished struct {
	end adsync.RunEnd
	at  time.Time
}

// New validates cfg and starts the Notifier's goroutines.
func New(cfg Config) (*Notifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	n := &Notifier{cfg: cfg, log: cfg.Logger, ends: make(chan finished, cfg.QueueSize)}
	n.stop, n.cancel = context.WithCancel(context.Background())
	for i := range cfg.Routes {
		q := make(chan Alert, cfg.QueueSize)
		n.queues = append(n.queues, q)
		n.wg.Add(1)
		go n.deliver(&cfg.Routes[i], q)
	}
	decided := make(chan struct{})
	go func() {
		defer close(decided)
		for f := range n.ends {
			n.decide(f.end, f.at.UTC())
		}
	}()
	// The channel queues close once no more alerts can come.
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		<-decided
		for _, q := range n.queues {
			close(q)
		}
	}()
	return n, nil
}

// RunStarted does nothing: alerts are about finished runs.
func (n *Notifier) RunStarted(adsync.RunStart) {}

// Wrote does nothing: a failed write is retried by the next run, and the
// run's counts carry it.
func (n *Notifier) Wrote(adsync.WriteEvent) {}

// RunFinished queues the run for the alerts it raises, without waiting: a
// full queue drops it (and logs so).
func (n *Notifier) RunFinished(e adsync.RunEnd) {
	n.mu.RLock()
	defer n.mu.RUnlock()
	if n.closed {
		return
	}
	select {
	case n.ends <- finished{e, n.cfg.Now()}:
	default:
		n.log.Error("alerts: queue full, run not alerted", "org", e.Run.OrgID, "run", e.Run.ID, "status", e.Run.Status)
	}
}

// Close stops taking runs, delivers what is queued, and returns when done,
// or when ctx ends (then pending retries are given up, and ctx's error is
// returned). It may be called more than once.
func (n *Notifier) Close(ctx context.Context) error {
	n.closeOnce.Do(func() {
		n.mu.Lock()
		n.closed = true
		close(n.ends)
		n.mu.Unlock()
	})
	done := make(chan struct{})
	go func() { n.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		n.cancel()
		<-done
		return fmt.Errorf("notify: close: alerts still queued were dropped: %w", ctx.Err())
	}
}

// Test sends a test alert to every channel now, each once, and returns the
// failures, each naming its channel.
func (n *Notifier) Test(ctx context.Context) error {
	a := Alert{Event: EventTest, Time: n.cfg.Now().UTC(), Title: "adsync: test alert",
		Text: "This is a test message from adsync (adsync alert test). Alerts for held, failed and interrupted runs, recoveries, new conflicts, expiring certificates and the Autotask API budget come to this channel."}
	var errs []error
	for _, r := range n.cfg.Routes {
		sctx, cancel := context.WithTimeout(ctx, n.cfg.SendTimeout)
		err := r.Channel.Send(sctx, a)
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("notify: channel %s: %w", r.Channel.Name(), err))
		}
	}
	return errors.Join(errs...)
}

// decide turns one finished run into alerts, claiming each state in the
// store so that one replica sends it, and queues them.
func (n *Notifier) decide(e adsync.RunEnd, now time.Time) {
	run := &e.Run
	org := run.OrgID
	base := Alert{OrgID: org, RunID: run.ID, Time: now}
	// States are claimed at the run's start: runs start a schedule
	// interval apart, and end whenever they end, so a reminder due after
	// 24 hours is due at the next daily run even if it ends sooner than
	// the one that alerted.
	at := now
	if !run.Started.IsZero() && run.Started.Before(now) {
		at = run.Started.UTC()
	}

	// The run's outcome: one state per organization.
	remind := n.cfg.RemindAfter
	if run.Status == adsync.StatusSucceeded {
		remind = 0
	}
	if prev, send, ok := n.claim(org, keyRun, string(run.Status), at, remind); ok && send {
		a := base
		a.Reminder = prev == string(run.Status)
		switch run.Status {
		case adsync.StatusHeld:
			a.Event, a.Held = EventHeld, len(run.Held)
			a.ApproveCommand = fmt.Sprintf("adsync approve --org %s --run %d", org, run.ID)
			a.ConsoleURL = n.link(org, run.ID)
			a.Title = fmt.Sprintf("adsync: %s: %d deactivations held for approval", org, a.Held)
			a.Text = fmt.Sprintf("Run %d of %s was applied except for %d deactivations, held by the guard because they are more than it allows at once. If these people really left, approve them with: %s",
				run.ID, org, a.Held, a.ApproveCommand)
			if a.ConsoleURL != "" {
				a.Text += " (or in the console: " + a.ConsoleURL + ")"
			}
		case adsync.StatusFailed, adsync.StatusInterrupted:
			a.Event, a.Error = EventFailed, run.Error
			verb := "failed"
			if run.Status == adsync.StatusInterrupted {
				a.Event, verb = EventInterrupted, "was interrupted"
			}
			a.ConsoleURL = n.link(org, run.ID)
			a.Title = fmt.Sprintf("adsync: %s: sync %s", org, verb)
			a.Text = fmt.Sprintf("Run %d of %s %s: %s", run.ID, org, verb, run.Error)
		case adsync.StatusSucceeded:
			if prev == "" || prev == string(adsync.StatusSucceeded) {
				break // a first success is no news
			}
			a.Event = EventRecovered
			a.ConsoleURL = n.link(org, run.ID)
			a.Title = fmt.Sprintf("adsync: %s: sync recovered", org)
			a.Text = fmt.Sprintf("Run %d of %s succeeded after a run that was %s.", run.ID, org, prev)
		}
		if a.Reminder {
			a.Title = "Reminder: " + a.Title
		}
		n.queue(a)
	}

	if e.NewConflicts > 0 {
		a := base
		a.Event, a.NewConflicts, a.OpenConflicts = EventConflicts, e.NewConflicts, max(e.OpenConflicts, 0)
		a.ConsoleURL = n.link(org, run.ID)
		a.Title = fmt.Sprintf("adsync: %s: %d new conflicts", org, e.NewConflicts)
		a.Text = fmt.Sprintf("Run %d of %s found %d users in conflict for the first time (%d open in all): they are not synced until an admin resolves them (adsync conflicts --org %s).",
			run.ID, org, e.NewConflicts, a.OpenConflicts, org)
		n.queue(a)
	}

	// The certificate: alerted while expiring or expired; left alone when
	// the run did not see it.
	switch run.TLS {
	case adsync.TLSOK, adsync.TLSExpiring, adsync.TLSExpired:
		remind := n.cfg.RemindAfter
		if run.TLS == adsync.TLSOK {
			remind = 0
		}
		if prev, send, ok := n.claim(org, keyTLS, string(run.TLS), at, remind); ok && send && run.TLS != adsync.TLSOK {
			a := base
			a.Event, a.Reminder = EventTLS, prev == string(run.TLS)
			what := "expires soon"
			if !e.CertExpiry.IsZero() {
				exp := e.CertExpiry.UTC()
				days := int(math.Floor(exp.Sub(now).Hours() / 24))
				a.CertExpiry, a.DaysLeft = &exp, &days
				what = fmt.Sprintf("expires in %d days, on %s", days, exp.Format(time.DateOnly))
			}
			if run.TLS == adsync.TLSExpired {
				what = "has expired"
				if a.CertExpiry != nil {
					what += " (on " + a.CertExpiry.Format(time.DateOnly) + ")"
				}
			}
			a.Title = fmt.Sprintf("adsync: %s: directory certificate %s", org, what)
			a.Text = fmt.Sprintf("The TLS certificate of %s's directory server %s. Renew it before the sync stops connecting.", org, what)
			if a.Reminder {
				a.Title = "Reminder: " + a.Title
			}
			n.queue(a)
		}
	}

	// Autotask's budget is the database's, shared by every organization:
	// a notice of no one organization.
	if b := e.Budget; b != nil && b.Limit > 0 {
		state, remind := "ok", time.Duration(0)
		if b.Paced() {
			state, remind = "paced", n.cfg.RemindAfter
		}
		if prev, send, ok := n.claim("", keyBudget, state, at, remind); ok && send && state == "paced" {
			a := Alert{Event: EventBudget, Time: now, Reminder: prev == state,
				BudgetUsed: b.Used, BudgetLimit: b.Limit, PaceAt: b.PaceAt}
			a.Title = fmt.Sprintf("adsync: Autotask API budget at %.0f%%, past the pacing threshold", 100*b.Share())
			a.Text = fmt.Sprintf("Autotask's API counts %d of %d requests this hour (%.0f%%), past the %.0f%% at which adsync slows down. Other integrations share this budget; runs take longer until it eases.",
				b.Used, b.Limit, 100*b.Share(), 100*b.PaceAt)
			if a.Reminder {
				a.Title = "Reminder: " + a.Title
			}
			n.queue(a)
		}
	}
}

// claim asks the store whether to send; a store error is logged and
// nothing is sent (the next run asks again).
func (n *Notifier) claim(org, key, state string, now time.Time, remind time.Duration) (prev string, send, ok bool) {
	if remind < 0 {
		remind = 0
	}
	ctx, cancel := context.WithTimeout(n.stop, n.cfg.SendTimeout)
	defer cancel()
	prev, send, err := n.cfg.Store.ClaimNotice(ctx, org, key, state, now, remind)
	if err != nil {
		n.log.Error("alerts: cannot read or record the alert state", "org", org, "key", key, "state", state, "error", err)
		return "", false, false
	}
	return prev, send, true
}

func (n *Notifier) link(org string, run int64) string {
	if n.cfg.ConsoleURL == "" {
		return ""
	}
	return strings.NewReplacer("{org}", org, "{run}", fmt.Sprint(run)).Replace(n.cfg.ConsoleURL)
}

// queue hands the alert to each route that wants it and whose
// organization selects the event.
func (n *Notifier) queue(a Alert) {
	if a.Event == "" {
		return
	}
	if evs, ok := n.cfg.OrgEvents[a.OrgID]; ok && a.OrgID != "" && !slices.Contains(evs, a.Event) {
		return
	}
	for i := range n.cfg.Routes {
		r := &n.cfg.Routes[i]
		if !r.wants(&a) {
			continue
		}
		select {
		case n.queues[i] <- a:
		default:
			n.log.Error("alerts: channel queue full, alert dropped", "channel", r.Channel.Name(), "event", a.Event, "org", a.OrgID)
		}
	}
}

// deliver sends a route's alerts one at a time, retrying each with backoff.
func (n *Notifier) deliver(r *Route, q <-chan Alert) {
	defer n.wg.Done()
	for a := range q {
		wait := n.cfg.Backoff
		for attempt := 1; ; attempt++ {
			ctx, cancel := context.WithTimeout(n.stop, n.cfg.SendTimeout)
			err := r.Channel.Send(ctx, a)
			cancel()
			if err == nil {
				break
			}
			if attempt >= n.cfg.Attempts || n.stop.Err() != nil {
				n.log.Error("alerts: delivery failed, alert dropped", "channel", r.Channel.Name(), "event", a.Event, "org", a.OrgID,
					"attempts", attempt, "error", err)
				break
			}
			n.log.Warn("alerts: delivery failed, retrying", "channel", r.Channel.Name(), "event", a.Event, "org", a.OrgID,
				"attempt", attempt, "retryIn", wait, "error", err)
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-n.stop.Done():
				t.Stop()
			}
			wait = min(2*wait, n.cfg.MaxBackoff)
		}
	}
}
