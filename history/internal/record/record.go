// Package record holds what the history stores share: the checks on the
// records a caller hands in, and the encoding of a record's lists and maps
// for the SQL stores.
package record

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/bits"
	"slices"
	"time"

	"github.com/psasync/adsync"
)

// ErrInvalid marks a record the store refuses because the caller broke the
// HistoryStore contract (an empty organization, a link of another
// organization). It is a programming error, not a condition to retry.
var ErrInvalid = errors.New("invalid history record")

// CheckOrg refuses an empty organization id.
func CheckOrg(op, orgID string) error {
	if orgID == "" {
		return fmt.Errorf("history: %s: empty organization id: %w", op, ErrInvalid)
	}
	return nil
}

// CheckMember refuses a record whose OrgID is set and differs from orgID,
// and one without a user id. An empty OrgID is taken as orgID.
func CheckMember(op, orgID, recOrg, userID string) error {
	if recOrg != "" && recOrg != orgID {
		return fmt.Errorf("history: %s: record of organization %q given for organization %q (all records of one call are of one organization): %w",
			op, recOrg, orgID, ErrInvalid)
	}
	if userID == "" {
		return fmt.Errorf("history: %s: record of organization %q without a user id: %w", op, orgID, ErrInvalid)
	}
	return nil
}

// UTC returns t in UTC without its monotonic reading; the zero time stays
// zero. Stores return every time in UTC.
func UTC(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// CopyRun returns r with its own copies of the lists and times in UTC.
func CopyRun(r adsync.Run) adsync.Run {
	r.Started, r.Ended = UTC(r.Started), UTC(r.Ended)
	r.Warnings = clone(r.Warnings)
	r.Skips = clone(r.Skips)
	r.Failures = clone(r.Failures)
	r.Held = clone(r.Held)
	return r
}

// CopyLink returns l with its own Written map and times in UTC.
func CopyLink(l adsync.Link) adsync.Link {
	l.LinkedAt, l.SyncedAt, l.MissingSince = UTC(l.LinkedAt), UTC(l.SyncedAt), UTC(l.MissingSince)
	if len(l.Written) == 0 {
		l.Written = nil
	} else {
		l.Written = maps.Clone(l.Written)
	}
	return l
}

// CopyConflict returns c with its own lists and times in UTC.
func CopyConflict(c adsync.Conflict) adsync.Conflict {
	c.FirstSeen, c.LastSeen = UTC(c.FirstSeen), UTC(c.LastSeen)
	c.OtherUsers = clone(c.OtherUsers)
	c.Candidates = clone(c.Candidates)
	return c
}

// CopyResolution returns r with its time in UTC.
func CopyResolution(r adsync.Resolution) adsync.Resolution {
	r.CreatedAt = UTC(r.CreatedAt)
	return r
}

// clone copies s; an empty list becomes nil so that every store returns
// the same thing for "none".
func clone[S ~[]E, E any](s S) S {
	if len(s) == 0 {
		return nil
	}
	return slices.Clone(s)
}

// RunDetails are the parts of a run that the SQL stores keep as one JSON
// document: they are only ever read whole.
type RunDetails struct {
	Counts   adsync.Counts             `json:"counts"`
	Warnings []adsync.Warning          `json:"warnings,omitempty"`
	Skips    []adsync.Skip             `json:"skips,omitempty"`
	Failures []adsync.WriteFailure     `json:"failures,omitempty"`
	Held     []adsync.HeldDeactivation `json:"held,omitempty"`
	By       string                    `json:"by,omitempty"`
	// UndoneRun is kept here rather than in a column: most runs have none.
	UndoneRun int64 `json:"undoneRun,omitempty"`
}

// EncodeRunDetails encodes the counts and lists of r.
func EncodeRunDetails(r *adsync.Run) ([]byte, error) {
	b, err := json.Marshal(RunDetails{Counts: r.Counts, Warnings: r.Warnings, Skips: r.Skips, Failures: r.Failures, Held: r.Held, By: r.By,
		UndoneRun: r.UndoneRun})
	if err != nil {
		return nil, fmt.Errorf("history: encode run %d of organization %q: %w", r.ID, r.OrgID, err)
	}
	return b, nil
}

// DecodeRunDetails sets the counts and lists of r from b.
func DecodeRunDetails(r *adsync.Run, b []byte) error {
	var d RunDetails
	if err := json.Unmarshal(b, &d); err != nil {
		return fmt.Errorf("history: decode run %d of organization %q: %w", r.ID, r.OrgID, err)
	}
	r.Counts, r.By, r.UndoneRun = d.Counts, d.By, d.UndoneRun
	r.Warnings, r.Skips, r.Failures, r.Held = clone(d.Warnings), clone(d.Skips), clone(d.Failures), clone(d.Held)
	return nil
}

// EncodeWritten encodes a link's written values as a JSON object keyed by
// the Autotask field names (not the Field numbers, which a later version may
// renumber), in field order. An empty map encodes as nil (SQL NULL). It is
// hand-written because it runs once per link: 400,000 times per save of a
// large organization.
func EncodeWritten(w map[adsync.Field]string) ([]byte, error) {
	if len(w) == 0 {
		return nil, nil
	}
	// One pass over the map, then the fields in order: looking up every
	// field instead cost a third of a second per 800,000 links.
	var (
		vals [adsync.NumFields]string
		set  uint64 // the fields in w
	)
	for f, v := range w {
		if !f.Valid() {
			return nil, fmt.Errorf("history: written value of invalid field %d: %w", uint8(f), ErrInvalid)
		}
		vals[f], set = v, set|1<<f
	}
	b := make([]byte, 0, 32*len(w))
	b = append(b, '{')
	for n := 0; set != 0; n++ {
		f := adsync.Field(bits.TrailingZeros64(set))
		set &= set - 1
		if n > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, f.String())
		b = append(b, ':')
		b = appendJSONString(b, vals[f])
	}
	return append(b, '}'), nil
}

// The set of fields in EncodeWritten is a uint64.
var _ [64 - adsync.NumFields]struct{}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string. UTF-8 passes through; the
// characters JSON requires escaped are escaped.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// fieldByName maps the Autotask field names, as EncodeWritten writes them,
// to their fields.
var fieldByName = func() map[string]adsync.Field {
	m := make(map[string]adsync.Field, adsync.NumFields)
	for f := adsync.Field(0); f < adsync.NumFields; f++ {
		m[f.String()] = f
	}
	return m
}()

// Strings shares the strings of the values that repeat from link to link
// as the links are decoded (a city, an office's address, a job title, a
// country): 400,000 links would otherwise hold 400,000 copies of each. It
// is a small cache of one value per hash slot, so that a value met once
// (an email address) costs no more than before; a value found again gets a
// second chance, so that the values met once do not push out those that
// repeat. The zero value is ready to use; a Strings is not safe for
// concurrent use.
type Strings struct {
	slots [stringSlots]struct {
		s   string
		hit bool // found again since it was put in
	}
}

// stringSlots is the size of Strings' cache: a power of two, larger than
// the distinct repeating values of an organization's links usually are.
const stringSlots = 1024

// of returns b as a string, the one already held when it repeats.
func (s *Strings) of(b []byte) string {
	if s == nil {
		return string(b)
	}
	h := uint32(2166136261) // FNV-1a
	for _, c := range b {
		h = (h ^ uint32(c)) * 16777619
	}
	slot := &s.slots[h&(stringSlots-1)]
	switch {
	case slot.s == string(b): // compared without a copy
		slot.hit = true
		return slot.s
	case slot.hit:
		slot.hit = false // kept, once
		return string(b)
	}
	slot.s = string(b)
	return slot.s
}

// DecodeWritten decodes a JSON object of field names to values, as
// EncodeWritten (or a database's JSON type) writes it. Names of fields this
// version does not know are dropped: the sync can no longer write them.
func DecodeWritten(b []byte) (map[adsync.Field]string, error) {
	return DecodeWrittenShared(b, nil)
}

// DecodeWrittenShared is DecodeWritten taking the values' strings from
// strs, which the decoding of one read's links shares (nil: none).
func DecodeWrittenShared(b []byte, strs *Strings) (map[adsync.Field]string, error) {
	if len(b) == 0 {
		return nil, nil
	}
	w, ok := decodeFlat(b, strs)
	if !ok { // escapes or an unexpected shape: the general decoder
		var m map[string]string
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("history: decode written values: %w", err)
		}
		w = make(map[adsync.Field]string, len(m))
		for name, v := range m {
			addWritten(w, name, v)
		}
	}
	if len(w) == 0 {
		return nil, nil
	}
	return w, nil
}

func addWritten(w map[adsync.Field]string, name, v string) {
	f, ok := fieldByName[name]
	if !ok {
		var err error
		if f, err = adsync.ParseField(name); err != nil {
			return
		}
	}
	w[f] = v
}

// decodeFlat decodes a JSON object of strings without escapes, the common
// case, without reflection. ok is false for anything else.
func decodeFlat(b []byte, strs *Strings) (w map[adsync.Field]string, ok bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, false
	}
	w = make(map[adsync.Field]string, 8)
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return w, skipSpace(b, i+1) == len(b)
	}
	for {
		var name, v string
		if name, i, ok = flatString(b, i, nil); !ok {
			return nil, false
		}
		if i = skipSpace(b, i); i >= len(b) || b[i] != ':' {
			return nil, false
		}
		if v, i, ok = flatString(b, skipSpace(b, i+1), strs); !ok {
			return nil, false
		}
		addWritten(w, name, v)
		if i = skipSpace(b, i); i >= len(b) {
			return nil, false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return w, skipSpace(b, i+1) == len(b)
		default:
			return nil, false
		}
	}
}

// flatString reads a JSON string at b[i] that has no escapes, from strs
// when it holds it.
func flatString(b []byte, i int, strs *Strings) (string, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return "", i, false
	}
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '"':
			return strs.of(b[i+1 : j]), j + 1, true
		case '\\':
			return "", i, false
		}
	}
	return "", i, false
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	return i
}

// EncodeList encodes a conflict's list, nil for an empty one.
func EncodeList[E any](s []E) ([]byte, error) {
	if len(s) == 0 {
		return nil, nil
	}
	return json.Marshal(s)
}

// DecodeList decodes what EncodeList encoded.
func DecodeList[E any](b []byte) ([]E, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var s []E
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("history: decode list: %w", err)
	}
	return clone(s), nil
}

// CheckResolution refuses a resolution without organization or user, or
// with an unknown action.
func CheckResolution(r adsync.Resolution) error {
	if err := CheckOrg("put resolution", r.OrgID); err != nil {
		return err
	}
	if err := CheckMember("put resolution", r.OrgID, r.OrgID, r.UserID); err != nil {
		return err
	}
	if !r.Action.Valid() {
		return fmt.Errorf("history: put resolution for user %q of organization %q: unknown action %q (want link, create or ignore): %w",
			r.UserID, r.OrgID, r.Action, ErrInvalid)
	}
	return nil
}

// CopyExemption returns e with its time in UTC.
func CopyExemption(e adsync.Exemption) adsync.Exemption {
	e.CreatedAt = UTC(e.CreatedAt)
	return e
}

// CheckExemption refuses an exemption without organization or with a
// contact id that is not positive.
func CheckExemption(e adsync.Exemption) error {
	if err := CheckOrg("put exemption", e.OrgID); err != nil {
		return err
	}
	if e.ContactID <= 0 {
		return fmt.Errorf("history: put exemption of organization %q: contact id %d is not an Autotask contact id: %w", e.OrgID, e.ContactID, ErrInvalid)
	}
	return nil
}
