package adsync

import (
	"fmt"
	"log/slog"
)

// Secret holds a credential: an LDAP bind password, a Graph client secret,
// Autotask's API secret, a database password. It never shows its value
// when printed, whatever the verb (String, %v, %+v, %#v, %q), marshalled to
// JSON or text, or logged with log/slog: all give "[redacted]", or "" for
// an empty secret. Reveal gives the value, for the one call that needs it.
//
// The value sits behind a pointer, so that even a Secret inside a struct
// printed field by field through reflection (an unexported field of a
// client, say) shows an address and never the value.
//
// The zero Secret is empty.
type Secret struct{ v *string }

// NewSecret returns a Secret holding s.
func NewSecret(s string) Secret {
	if s == "" {
		return Secret{}
	}
	return Secret{v: &s}
}

// Reveal returns the secret's value.
func (s Secret) Reveal() string {
	if s.v == nil {
		return ""
	}
	return *s.v
}

// IsZero reports whether the secret is empty. It also lets
// encoding/json's omitzero leave an empty secret out.
func (s Secret) IsZero() bool { return s.v == nil || *s.v == "" }

const redacted = "[redacted]"

func (s Secret) shown() string {
	if s.IsZero() {
		return ""
	}
	return redacted
}

// String returns "[redacted]", or "" when the secret is empty.
func (s Secret) String() string { return s.shown() }

// GoString is String, for %#v.
func (s Secret) GoString() string { return `adsync.Secret("` + s.shown() + `")` }

// Format prints the redacted form for every verb.
func (s Secret) Format(f fmt.State, verb rune) {
	switch verb {
	case 'q':
		fmt.Fprintf(f, "%q", s.shown())
	case 'v':
		if f.Flag('#') {
			f.Write([]byte(s.GoString()))
			return
		}
		f.Write([]byte(s.shown()))
	default:
		f.Write([]byte(s.shown()))
	}
}

// MarshalText returns the redacted form: a configuration written back out
// never carries the secret.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.shown()), nil }

// UnmarshalText sets the secret from text, so a configuration decoded from
// JSON or YAML fills it. Marshalling gives "[redacted]", not the text.
func (s *Secret) UnmarshalText(b []byte) error {
	*s = NewSecret(string(b))
	return nil
}

// LogValue returns the redacted form for log/slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.shown()) }
