// Package leaktest finds a secret in the ways a value can be printed, for
// the tests of every package that holds credentials.
package leaktest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
)

// Find formats v every way a secret could leak (String, %v, %+v, %#v, %s,
// %q, JSON, slog's text and JSON handlers) and returns the ways whose
// output contains secret.
func Find(v any, secret string) []string {
	var leaks []string
	check := func(how, s string) {
		if bytes.Contains([]byte(s), []byte(secret)) {
			leaks = append(leaks, how)
		}
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		check(verb, fmt.Sprintf(verb, v))
	}
	if s, ok := v.(fmt.Stringer); ok {
		check("String", s.String())
	}
	if b, err := json.Marshal(v); err == nil {
		check("JSON", string(b))
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "v", v)
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "v", v)
	check("slog", buf.String())
	return leaks
}
