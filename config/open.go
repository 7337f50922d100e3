package config

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/autotask"
	"github.com/psasync/adsync/history/postgres"
	"github.com/psasync/adsync/history/sqlite"
)

// DefaultHistoryFile is the SQLite history used when neither the caller
// nor the file (store:) names one, beside the configuration file.
const DefaultHistoryFile = "adsync-history.db"

// ContactStore returns the Autotask client, the organizations' contact
// store. It does no I/O.
func (c *Config) ContactStore() (*autotask.Client, error) {
	if c.opts.OrgsOnly {
		return nil, errOrgsOnly
	}
	atc := c.Autotask
	atc.Logger = c.opts.Logger
	if c.opts.HTTPClient != nil {
		atc.HTTPClient = c.opts.HTTPClient
	}
	s, err := autotask.New(atc)
	if err != nil {
		return nil, &Error{File: c.Path, Field: "autotask", Msg: err.Error()}
	}
	return s, nil
}

// Orgs returns the organizations with their directory sources, in the
// file's order, disabled ones included (the Syncer refuses to run them). It
// does no I/O.
func (c *Config) Orgs() ([]adsync.Org, error) {
	if c.opts.OrgsOnly {
		return nil, errOrgsOnly
	}
	so := SourceOptions{Logger: c.opts.Logger, HTTPClient: c.opts.HTTPClient}
	orgs := make([]adsync.Org, 0, len(c.Organizations))
	for _, o := range c.Organizations {
		src, err := o.Directory.Source(so)
		if err != nil {
			return nil, &Error{File: c.Path, Field: fmt.Sprintf("orgs[%d]", o.Index), Msg: err.Error()}
		}
		orgs = append(orgs, adsync.Org{Config: o.Config, Source: src})
	}
	return orgs, nil
}

var errOrgsOnly = errors.New("config: loaded with OrgsOnly: no secrets, no clients")

// Org returns the organization with the given id.
func (c *Config) Org(id string) (Org, bool) {
	for _, o := range c.Organizations {
		if o.Config.ID == id {
			return o, true
		}
	}
	return Org{}, false
}

// IDs returns the organizations' ids, in the file's order.
func (c *Config) IDs() []string {
	ids := make([]string, len(c.Organizations))
	for i, o := range c.Organizations {
		ids[i] = o.Config.ID
	}
	return ids
}

// OrgConfigs returns the organizations' configurations, in the file's
// order (Syncer.Status takes them).
func (c *Config) OrgConfigs() []adsync.OrgConfig {
	out := make([]adsync.OrgConfig, len(c.Organizations))
	for i, o := range c.Organizations {
		out[i] = o.Config
	}
	return out
}

// HistorySpec returns the history store to use: override when not empty (a
// flag or an environment variable of the program), else the file's store:,
// else a SQLite file DefaultHistoryFile beside the configuration file. A
// relative SQLite path written in the file is relative to the file. A bare
// postgres:// or postgresql:// URL stands for postgres:URL. The result is
// "sqlite:PATH" or "postgres:DSN"; anything else is an *Error (with Field
// "store", or "" for an override).
func (c *Config) HistorySpec(override string) (string, error) {
	spec, field := override, ""
	if spec == "" {
		spec, field = c.Store, "store"
	}
	if spec == "" {
		return "sqlite:" + filepath.Join(filepath.Dir(c.Path), DefaultHistoryFile), nil
	}
	if strings.HasPrefix(spec, "postgres://") || strings.HasPrefix(spec, "postgresql://") {
		// A bare PostgreSQL URL, as libpq and our own messages write it:
		// cut at the first ":" it would become "//user:pw@host…", which pgx
		// reads as an empty key=value DSN (the local socket, as root).
		spec = "postgres:" + spec
	}
	kind, rest, ok := strings.Cut(spec, ":")
	if !ok || rest == "" || (kind != "sqlite" && kind != "postgres") {
		e := &Error{Field: field, Msg: fmt.Sprintf("%q: want sqlite:PATH or postgres:DSN (e.g. postgres://adsync@db/adsync)", RedactDSN(spec))}
		if field != "" {
			e.File, e.Line = c.Path, c.storeLine
		}
		return "", e
	}
	if kind == "sqlite" && override == "" && !filepath.IsAbs(rest) {
		spec = "sqlite:" + filepath.Join(filepath.Dir(c.Path), rest)
	}
	return spec, nil
}

// History is an opened history store.
type History interface {
	adsync.HistoryStore
	// Close releases the store's connections.
	Close() error
}

// ErrNoHistoryDir: a SQLite history's directory does not exist. A history
// created empty by mistake would make every user be matched again, so it
// is created only when asked (HistoryOptions.CreateDir).
var ErrNoHistoryDir = errors.New("the history's directory does not exist")

// HistoryOptions configure Config.History.
type HistoryOptions struct {
	// CreateDir creates a SQLite history's missing directory (mode 0700)
	// instead of failing with ErrNoHistoryDir.
	CreateDir bool
}

// History opens the history store of spec (see HistorySpec). opts may be
// nil.
func (c *Config) History(ctx context.Context, spec string, opts *HistoryOptions) (History, error) {
	kind, rest, _ := strings.Cut(spec, ":")
	switch kind {
	case "postgres":
		s, err := postgres.Open(ctx, rest, &postgres.Options{Logger: c.opts.Logger})
		if err != nil {
			return nil, fmt.Errorf("config: open the history store: %w", err)
		}
		return closer{s, func() error { s.Close(); return nil }}, nil
	case "sqlite":
		if dir := filepath.Dir(rest); dir != "" {
			if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
				if opts == nil || !opts.CreateDir {
					return nil, fmt.Errorf("config: open the history store %s: %w: %s", rest, ErrNoHistoryDir, dir)
				}
				if err := os.MkdirAll(dir, 0o700); err != nil {
					return nil, fmt.Errorf("config: create the directory of the history store: %w", err)
				}
			}
		}
		s, err := sqlite.Open(ctx, rest, &sqlite.Options{Logger: c.opts.Logger})
		if err != nil {
			return nil, fmt.Errorf("config: open the history store %s: %w", rest, err)
		}
		return closer{s, s.Close}, nil
	}
	return nil, &Error{Field: "store", Msg: fmt.Sprintf("%q: want sqlite:PATH or postgres:DSN", RedactDSN(spec))}
}

// closer is a store with its Close. The lock is part of
// adsync.HistoryStore, so embedding forwards it (R-RUN-5).
type closer struct {
	adsync.HistoryStore
	close func() error
}

func (c closer) Close() error { return c.close() }

// dsnPassword matches a password setting in a key=value DSN (quoted, or
// with spaces around "=", as libpq allows) or in a URL's query.
var dsnPassword = regexp.MustCompile(`(?i)\b((?:ssl)?password)\s*=\s*('(?:[^'\\]|\\.)*'|[^\s&]*)`)

// RedactDSN hides the passwords in a store specification for messages:
// a URL's userinfo password, and password= or sslpassword= settings in a
// URL's query or a key=value DSN.
func RedactDSN(s string) string {
	if i := strings.Index(s, "://"); i >= 0 {
		// The last "@": a password may hold a raw one. Masking too much
		// is better than too little.
		if at := strings.LastIndex(s, "@"); at > i {
			if c := strings.Index(s[i+3:at], ":"); c >= 0 {
				s = s[:i+3+c+1] + "xxxxx" + s[at:]
			}
		}
	}
	return dsnPassword.ReplaceAllString(s, "${1}=xxxxx")
}
