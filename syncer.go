package adsync

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// Phase names a stage of a run, for progress reports.
type Phase string

// The phases of a run, in order.
const (
	PhaseReadDirectory Phase = "read-directory"
	PhaseReadContacts  Phase = "read-contacts"
	PhasePlan          Phase = "plan"
	PhaseApply         Phase = "apply"
)

// Progress reports how far a long run has come. Total is 0 when unknown
// (a directory read does not know its size in advance).
type Progress struct {
	OrgID string
	Phase Phase
	Done  int
	Total int
}

// Defaults of Options.
const (
	DefaultWriteConcurrency = 3
	DefaultBatchSize        = MaxPageSize
)

// Options configure a Syncer.
type Options struct {
	// Store is the Autotask side. Required.
	Store ContactStore
	// History keeps runs, links, conflicts and resolutions. Required.
	History HistoryStore
	// Matcher decides for unlinked users. Required: matcher.New() gives
	// Autotask's rules.
	Matcher Matcher
	// Fields builds each run's field rules. Required: merge.New gives
	// Autotask's rules.
	Fields FieldPolicy
	// Logger receives the run's log; nil discards it.
	Logger *slog.Logger
	// Progress, when set, is called as a run advances. It must be fast.
	Progress func(Progress)
	// WriteConcurrency bounds the writes in flight (default 3, Autotask's
	// thread limit per endpoint).
	WriteConcurrency int
	// BatchSize is the number of changes applied per batch, links saved
	// after each (default and maximum 500).
	BatchSize int
	// Now returns the current time; nil means time.Now. For tests.
	Now func() time.Time
}

// Org is one organization to sync: its configuration and its directory.
type Org struct {
	Config OrgConfig
	Source DirectorySource
}

// Syncer runs the sync of organizations: it composes a ContactStore, a
// HistoryStore, a Matcher and field rules, and owns the rules of a run (order
// of matching, guard, batching, error wrapping). It is safe for concurrent
// use; runs of one organization are serialized (R-RUN-5).
type Syncer struct {
	opts Options
	log  *slog.Logger
}

// NewSyncer returns a Syncer, or a *ConfigError naming the missing option.
func NewSyncer(o Options) (*Syncer, error) {
	switch {
	case o.Store == nil:
		return nil, &ConfigError{Field: "Options.Store", Problem: "is required"}
	case o.History == nil:
		return nil, &ConfigError{Field: "Options.History", Problem: "is required"}
	case o.Matcher == nil:
		return nil, &ConfigError{Field: "Options.Matcher", Problem: "is required (matcher.New() gives Autotask's rules)"}
	case o.Fields == nil:
		return nil, &ConfigError{Field: "Options.Fields", Problem: "is required (merge.New gives Autotask's rules)"}
	}
	return &Syncer{opts: o, log: o.Logger}, nil
}

// Plan reads the directory and the company's contacts and computes what a
// run would write, without writing anything anywhere: a dry run.
func (s *Syncer) Plan(ctx context.Context, org Org) (*Plan, error) {
	return nil, errors.New("not implemented yet")
}

// Apply applies a plan made by Plan for the same organization, records the
// run (trigger forced) and returns it.
func (s *Syncer) Apply(ctx context.Context, org Org, p *Plan) (Run, error) {
	return Run{}, errors.New("not implemented yet")
}

// Sync plans and applies one run of the organization, and records it.
func (s *Syncer) Sync(ctx context.Context, org Org, trigger Trigger) (Run, error) {
	return Run{}, errors.New("not implemented yet")
}

// Approve runs the organization again with the held deactivations of run
// runID allowed past the guard (R-DEACT-4).
func (s *Syncer) Approve(ctx context.Context, org Org, runID int64) (Run, error) {
	return Run{}, errors.New("not implemented yet")
}
