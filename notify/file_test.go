package notify_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/notify"
)

// envSecret resolves ...Env from a map and refuses inline secrets, as the
// CLI's loader does.
func envSecret(env map[string]string) notify.SecretFunc {
	return func(path, name, inline, envName, file string, required bool) (string, error) {
		if inline != "" {
			return "", &adsync.ConfigError{Field: path + "." + name, Problem: "inline secret"}
		}
		if v := env[envName]; v != "" {
			return v, nil
		}
		if required {
			return "", &adsync.ConfigError{Field: path + "." + name + "Env", Problem: "required"}
		}
		return "", nil
	}
}

func TestFileConfigBuild(t *testing.T) {
	env := map[string]string{"HOOK_SECRET": "s3cret", "TEAMS_URL": "https://example.webhook.office.com/x", "SLACK_URL": "https://hooks.slack.com/services/T/B/X", "SMTP_PW": "pw"}
	full := notify.FileConfig{RemindAfter: 12 * time.Hour, ConsoleURL: "https://adsync.example.com/org/{org}/run/{run}",
		Orgs: map[string][]string{"contoso": {"held", "failed"}},
		Channels: []notify.ChannelFile{
			{Name: "ops", Events: []string{"failed"}, Orgs: []string{"contoso"}, Webhook: &notify.WebhookFile{URL: "https://hooks.example.com/adsync", SecretEnv: "HOOK_SECRET"}},
			{Teams: &notify.HookFile{URLEnv: "TEAMS_URL"}},
			{Slack: &notify.HookFile{URLEnv: "SLACK_URL"}},
			{Email: &notify.EmailFile{Host: "smtp.example.com", Username: "u", PasswordEnv: "SMTP_PW", From: "a@example.com", To: []string{"b@example.com"}}},
		}}
	cfg, err := full.Build("alerts", envSecret(env))
	require.NoError(t, err)
	assert.Equal(t, 12*time.Hour, cfg.RemindAfter)
	assert.Equal(t, []notify.Event{notify.EventHeld, notify.EventFailed}, cfg.OrgEvents["contoso"])
	require.Len(t, cfg.Routes, 4)
	assert.Equal(t, "ops", cfg.Routes[0].Channel.Name())
	assert.Equal(t, []byte("s3cret"), cfg.Routes[0].Channel.(*notify.Webhook).Secret)
	assert.Equal(t, []notify.Event{notify.EventFailed}, cfg.Routes[0].Events)
	assert.Equal(t, "teams", cfg.Routes[1].Channel.Name())
	assert.Equal(t, "slack", cfg.Routes[2].Channel.Name())
	assert.Equal(t, "pw", cfg.Routes[3].Channel.(*notify.Email).Password)

	tests := []struct {
		name  string
		edit  func(*notify.FileConfig)
		field string
	}{
		{"two kinds in one channel", func(f *notify.FileConfig) { f.Channels[1].Slack = &notify.HookFile{URLEnv: "SLACK_URL"} }, "alerts.channels[1]"},
		{"no kind", func(f *notify.FileConfig) { f.Channels[1].Teams = nil }, "alerts.channels[1]"},
		{"unknown event", func(f *notify.FileConfig) { f.Channels[0].Events = []string{"fail"} }, "alerts.channels[0].events"},
		{"unknown org event", func(f *notify.FileConfig) { f.Orgs["contoso"] = []string{"boom"} }, "alerts.orgs.contoso"},
		{"a Slack URL written inline", func(f *notify.FileConfig) {
			f.Channels[2].Slack = &notify.HookFile{URL: "https://hooks.slack.com/services/T/B/X"}
		}, "alerts.channels[2].slack.url"},
		{"a Teams URL missing", func(f *notify.FileConfig) { f.Channels[1].Teams = &notify.HookFile{URLEnv: "UNSET"} }, "alerts.channels[1].teams.urlEnv"},
		{"a webhook URL that is not one", func(f *notify.FileConfig) { f.Channels[0].Webhook.URL = "hooks.example.com" }, "alerts.channels[0].webhook.url"},
		{"an email password missing", func(f *notify.FileConfig) { f.Channels[3].Email.PasswordEnv = "" }, "alerts.channels[3].email.passwordEnv"},
		{"an email without recipients", func(f *notify.FileConfig) { f.Channels[3].Email.To = nil }, "alerts.channels[3].email"},
		{"a console URL that is not one", func(f *notify.FileConfig) { f.ConsoleURL = "console" }, "alerts.consoleUrl"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := full
			f.Orgs = map[string][]string{"contoso": {"held"}}
			f.Channels = append([]notify.ChannelFile(nil), full.Channels...)
			w, e := *full.Channels[0].Webhook, *full.Channels[3].Email
			f.Channels[0].Webhook, f.Channels[3].Email = &w, &e
			tc.edit(&f)
			_, err := f.Build("alerts", envSecret(env))
			var ce *adsync.ConfigError
			require.True(t, errors.As(err, &ce), "%v", err)
			assert.Equal(t, tc.field, ce.Field)
			for _, v := range env {
				assert.NotContains(t, err.Error(), v, "no secret in the message")
			}
		})
	}
}
