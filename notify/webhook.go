package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Headers of the generic webhook.
const (
	// SignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the
	// request body, keyed with the webhook's secret.
	SignatureHeader = "X-Adsync-Signature"
	// EventHeader carries the alert's event.
	EventHeader = "X-Adsync-Event"
)

// Sign returns the value of SignatureHeader for body and secret; a receiver
// computes it too and compares with hmac.Equal.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Webhook posts each alert as JSON (the Alert type) to a URL, signed with
// an HMAC-SHA256 of the body in SignatureHeader when Secret is set.
type Webhook struct {
	// Label names the channel in logs (default "webhook").
	Label string
	// URL receives the POST. Required.
	URL string
	// Secret keys the signature; empty sends no signature.
	Secret []byte
	// Client sends the request; nil means http.DefaultClient.
	Client *http.Client
}

// Name returns the label.
func (w *Webhook) Name() string { return label(w.Label, "webhook") }

// Send posts the alert.
func (w *Webhook) Send(ctx context.Context, a Alert) error {
	body, err := json.Marshal(a)
	if err != nil {
		return err
	}
	h := http.Header{EventHeader: {string(a.Event)}}
	if len(w.Secret) > 0 {
		h.Set(SignatureHeader, Sign(w.Secret, body))
	}
	return post(ctx, w.Client, w.URL, body, h)
}

// Slack posts alerts to a Slack incoming webhook: a text (shown in
// notifications) and blocks (a header, the text, the facts).
type Slack struct {
	// Label names the channel in logs (default "slack").
	Label string
	// URL is the incoming webhook's URL (a secret: its path is the token).
	URL    string
	Client *http.Client
}

// Name returns the label.
func (s *Slack) Name() string { return label(s.Label, "slack") }

// Send posts the alert as a Slack message.
func (s *Slack) Send(ctx context.Context, a Alert) error {
	return post(ctx, s.Client, s.URL, slackMessage(&a), nil)
}

func slackMessage(a *Alert) []byte {
	type text struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	type block struct {
		Type   string `json:"type"`
		Text   *text  `json:"text,omitempty"`
		Fields []text `json:"fields,omitempty"`
	}
	blocks := []block{
		{Type: "header", Text: &text{Type: "plain_text", Text: truncate(a.Title, 150)}},
		{Type: "section", Text: &text{Type: "mrkdwn", Text: truncate(slackEscape(a.Text), 3000)}},
	}
	var fields []text
	for _, f := range a.Facts() {
		if len(fields) == 10 { // Slack's limit per section
			break
		}
		fields = append(fields, text{Type: "mrkdwn", Text: "*" + f[0] + "*\n" + slackEscape(f[1])})
	}
	if len(fields) > 0 {
		blocks = append(blocks, block{Type: "section", Fields: fields})
	}
	b, _ := json.Marshal(map[string]any{"text": a.Title, "blocks": blocks})
	return b
}

// slackEscape escapes the three characters Slack's mrkdwn reserves.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// Teams posts alerts to a Microsoft Teams incoming webhook (a Workflows
// "post to a channel when a webhook request is received" flow, or a
// connector) as an Adaptive Card.
type Teams struct {
	// Label names the channel in logs (default "teams").
	Label string
	// URL is the webhook's URL (a secret: it carries a signature).
	URL    string
	Client *http.Client
}

// Name returns the label.
func (t *Teams) Name() string { return label(t.Label, "teams") }

// Send posts the alert as an Adaptive Card.
func (t *Teams) Send(ctx context.Context, a Alert) error {
	return post(ctx, t.Client, t.URL, teamsMessage(&a), nil)
}

func teamsMessage(a *Alert) []byte {
	var facts []map[string]string
	for _, f := range a.Facts() {
		facts = append(facts, map[string]string{"title": f[0], "value": f[1]})
	}
	body := []map[string]any{
		{"type": "TextBlock", "text": a.Title, "weight": "Bolder", "size": "Medium", "wrap": true},
		{"type": "TextBlock", "text": a.Text, "wrap": true},
	}
	if len(facts) > 0 {
		body = append(body, map[string]any{"type": "FactSet", "facts": facts})
	}
	card := map[string]any{
		"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
		"type":    "AdaptiveCard",
		"version": "1.4",
		"body":    body,
	}
	if a.ConsoleURL != "" {
		card["actions"] = []map[string]string{{"type": "Action.OpenUrl", "title": "Open in the console", "url": a.ConsoleURL}}
	}
	b, _ := json.Marshal(map[string]any{
		"type": "message",
		"attachments": []map[string]any{{
			"contentType": "application/vnd.microsoft.card.adaptive",
			"content":     card,
		}},
	})
	return b
}

// post sends body as JSON and wants a 2xx answer. Its errors leave the URL
// out: Teams and Slack URLs are secrets.
func post(ctx context.Context, c *http.Client, u string, body []byte, h http.Header) error {
	if c == nil {
		c = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return errors.New("bad webhook URL (not shown: it may hold a token)")
	}
	for k, v := range h {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "adsync-notify")
	resp, err := c.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL
		}
		return fmt.Errorf("post to the webhook (%s): %w", hostOf(u), err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("post to the webhook (%s): HTTP %d: %s", hostOf(u), resp.StatusCode, strings.TrimSpace(string(msg)))
	}
	return nil
}

// hostOf is the host of a URL, the one part safe to log.
func hostOf(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "?"
	}
	return p.Host
}

func label(l, def string) string {
	if l == "" {
		return def
	}
	return l
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
