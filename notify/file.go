package notify

import (
	"fmt"
	"net/url"
	"time"

	"github.com/psasync/adsync"
)

// FileConfig is the alerts section of a configuration file (YAML or JSON),
// as written: channels and their selections, with secrets given as the
// names of environment variables or the paths of files (never inline).
// Build resolves it into a Config.
type FileConfig struct {
	// RemindAfter is how often an alert is repeated while its state lasts
	// (default 24h; a negative duration: never).
	RemindAfter time.Duration `yaml:"remindAfter" json:"remindAfter,omitempty"`
	// ConsoleURL links alerts to the console: "{org}" and "{run}" are
	// replaced by the organization and run ids.
	ConsoleURL string `yaml:"consoleUrl" json:"consoleUrl,omitempty"`
	// Orgs selects, per organization id, the events alerted for it.
	Orgs map[string][]string `yaml:"orgs" json:"orgs,omitempty"`
	// Channels are where alerts go.
	Channels []ChannelFile `yaml:"channels" json:"channels"`
}

// ChannelFile is one channel: exactly one of Webhook, Teams, Slack, Email,
// with the events and organizations it gets (empty: all).
type ChannelFile struct {
	// Name names the channel in logs and in `adsync alert test`.
	Name    string       `yaml:"name" json:"name,omitempty"`
	Events  []string     `yaml:"events" json:"events,omitempty"`
	Orgs    []string     `yaml:"orgs" json:"orgs,omitempty"`
	Webhook *WebhookFile `yaml:"webhook" json:"webhook,omitempty"`
	Teams   *HookFile    `yaml:"teams" json:"teams,omitempty"`
	Slack   *HookFile    `yaml:"slack" json:"slack,omitempty"`
	Email   *EmailFile   `yaml:"email" json:"email,omitempty"`
}

// WebhookFile is a generic webhook: its URL and the secret that signs.
type WebhookFile struct {
	URL        string `yaml:"url" json:"url"`
	Secret     string `yaml:"secret" json:"secret,omitempty"` // refused: inline secret
	SecretEnv  string `yaml:"secretEnv" json:"secretEnv,omitempty"`
	SecretFile string `yaml:"secretFile" json:"secretFile,omitempty"`
}

// HookFile is a Teams or Slack incoming webhook, whose URL is a secret.
type HookFile struct {
	URL     string `yaml:"url" json:"url,omitempty"` // refused: inline secret
	URLEnv  string `yaml:"urlEnv" json:"urlEnv,omitempty"`
	URLFile string `yaml:"urlFile" json:"urlFile,omitempty"`
}

// EmailFile is an SMTP channel.
type EmailFile struct {
	Host         string   `yaml:"host" json:"host"`
	Port         int      `yaml:"port" json:"port,omitempty"`
	TLS          string   `yaml:"tls" json:"tls,omitempty"` // starttls (default) or tls
	Username     string   `yaml:"username" json:"username,omitempty"`
	Password     string   `yaml:"password" json:"password,omitempty"` // refused: inline secret
	PasswordEnv  string   `yaml:"passwordEnv" json:"passwordEnv,omitempty"`
	PasswordFile string   `yaml:"passwordFile" json:"passwordFile,omitempty"`
	From         string   `yaml:"from" json:"from"`
	To           []string `yaml:"to" json:"to"`
}

// SecretFunc resolves a secret setting: path is the setting's parent
// (e.g. "alerts.channels[0].email"), name the secret's key ("password"),
// inline the value written in the file (to refuse), env and file its
// ...Env and ...File forms. It returns "" when none is set and the secret
// is not required.
type SecretFunc func(path, name, inline, env, file string, required bool) (string, error)

// Build resolves the section into a Config (without Store, Logger and
// Now, which the caller sets). Problems are *adsync.ConfigError whose
// Field is the setting's path under prefix (e.g. "alerts").
func (f *FileConfig) Build(prefix string, secret SecretFunc) (Config, error) {
	bad := func(field, format string, args ...any) error {
		return &adsync.ConfigError{Field: prefix + "." + field, Problem: fmt.Sprintf(format, args...)}
	}
	cfg := Config{RemindAfter: f.RemindAfter, ConsoleURL: f.ConsoleURL}
	if f.ConsoleURL != "" {
		if u, err := url.Parse(f.ConsoleURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return Config{}, bad("consoleUrl", "want an http(s) URL with {org} and {run} placeholders, e.g. https://adsync.example.com/org/{org}/run/{run}")
		}
	}
	if len(f.Orgs) > 0 {
		cfg.OrgEvents = map[string][]Event{}
		for org, names := range f.Orgs {
			evs, err := events(names)
			if err != nil {
				return Config{}, bad("orgs."+org, "%v", err)
			}
			cfg.OrgEvents[org] = evs
		}
	}
	for i, c := range f.Channels {
		path := fmt.Sprintf("%s.channels[%d]", prefix, i)
		field := fmt.Sprintf("channels[%d]", i)
		evs, err := events(c.Events)
		if err != nil {
			return Config{}, bad(field+".events", "%v", err)
		}
		n := 0
		for _, set := range []bool{c.Webhook != nil, c.Teams != nil, c.Slack != nil, c.Email != nil} {
			if set {
				n++
			}
		}
		if n != 1 {
			return Config{}, bad(field, "give exactly one of webhook, teams, slack, email (found %d)", n)
		}
		var ch Channel
		switch {
		case c.Webhook != nil:
			w := c.Webhook
			if u, err := url.Parse(w.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				return Config{}, bad(field+".webhook.url", "want an http(s) URL")
			}
			s, err := secret(path+".webhook", "secret", w.Secret, w.SecretEnv, w.SecretFile, false)
			if err != nil {
				return Config{}, err
			}
			ch = &Webhook{Label: label(c.Name, "webhook"), URL: w.URL, Secret: []byte(s)}
		case c.Teams != nil, c.Slack != nil:
			kind, h := "teams", c.Teams
			if c.Slack != nil {
				kind, h = "slack", c.Slack
			}
			u, err := secret(path+"."+kind, "url", h.URL, h.URLEnv, h.URLFile, true)
			if err != nil {
				return Config{}, err
			}
			if p, err := url.Parse(u); err != nil || p.Scheme != "https" && p.Scheme != "http" || p.Host == "" {
				// Not repeated: the URL is the secret.
				return Config{}, bad(field+"."+kind+".urlEnv", "the %s webhook URL is not an http(s) URL", kind)
			}
			if kind == "teams" {
				ch = &Teams{Label: label(c.Name, kind), URL: u}
			} else {
				ch = &Slack{Label: label(c.Name, kind), URL: u}
			}
		case c.Email != nil:
			e := c.Email
			pw, err := secret(path+".email", "password", e.Password, e.PasswordEnv, e.PasswordFile, e.Username != "")
			if err != nil {
				return Config{}, err
			}
			m := &Email{Label: label(c.Name, "email"), Host: e.Host, Port: e.Port, TLS: e.TLS, Username: e.Username,
				Password: pw, From: e.From, To: e.To}
			if err := m.Validate(); err != nil {
				return Config{}, bad(field+".email", "%v", err)
			}
			ch = m
		}
		cfg.Routes = append(cfg.Routes, Route{Channel: ch, Events: evs, Orgs: c.Orgs})
	}
	return cfg, nil
}

func events(names []string) ([]Event, error) {
	var evs []Event
	for _, s := range names {
		e, err := ParseEvent(s)
		if err != nil {
			return nil, err
		}
		evs = append(evs, e)
	}
	return evs, nil
}
