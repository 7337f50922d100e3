package record

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/psasync/adsync"
)

// The SQL stores keep a run's change log as batch rows: one row holds the
// records of one call (at most BatchRecords of them) encoded together
// (EncodeBatch), with a key blob for lookups by contact and user (the
// keys EncodeBatch returns) and the range of the last PutOutcomes that marked it
// (EncodeMark). A record lives in exactly one row: a record put again
// replaces it in its row. One row per batch instead of one per record is
// what keeps a daily run's log cheap: a few pages per call, and no index
// entry per record.

// BatchRecords is the most records one batch row holds: the Syncer's
// batch size, so that a call of the Syncer makes one row.
const BatchRecords = adsync.MaxPageSize

// batchFormat is the first byte of an encoded batch: the format's
// version. EncodeBatch writes format 2; DecodeBatch reads formats 1 and 2.
// Format 1 has a record's flags as one byte, and so no room for
// bitUnlinked; format 2 has them as a uvarint (flags2), with the rare bits
// (bitResolution, bitUnlinked) above the seven common ones, so that a
// record without them still takes one byte.
const (
	batchFormat  = 2
	batchFormat1 = 1
)

// KeySize is the size of one record's entry in the key blob: its contact id
// (8 bytes, big-endian), then UserKey of its user id.
const KeySize = 16

// Bits of a record's flags (format 1: one byte; format 2: a uvarint).
const (
	bitResolution = 1 << iota // Change.Resolution
	bitLabelID                // the label ended with " (user_id)", stored without it
	bitLabelNames             // the label is FieldsLabel of the fields, stored as ""
	bitActive                 // Change.Active is set
	bitActiveTrue             // *Change.Active
	bitAt                     // At is not the zero time
	bitUserGUID               // the user id is a GUID, stored as its 16 bytes
	// The contact's label ended with "(contact N)" of the record's
	// ContactID (adsync.Contact.Label), stored without it: 19 of a daily
	// record's 100 bytes. Added to format 1 without a new version: a row
	// without the bit reads as before.
	bitContactTail
	// Format 2: the record has Change.Unlinked, written after its time.
	bitUnlinked

	// knownFlags are the bits DecodeBatch reads: a row with others is of
	// a later version and is refused, not misread.
	knownFlags = bitUnlinked<<1 - 1
)

// flags2 returns flags as format 2 stores them: bits 1 to 7 moved down to
// 0 to 6, bitResolution to bit 7, bits from 8 on as they are.
func flags2(flags int) uint64 {
	return uint64(flags>>1&0x7f | flags&bitResolution<<7 | flags&^0xff)
}

// fromFlags2 reads what flags2 wrote.
func fromFlags2(f uint64) int {
	return int(f&0x7f<<1 | f>>7&1 | f&^0xff)
}

// contactTail is the end of a contact's label that names its id.
func contactTail(id int64) string { return "(contact " + strconv.FormatInt(id, 10) + ")" }

// storedContact returns the part of a record's contact label a batch
// stores (after the prefix it shares with the user's label) and the flag
// bit saying the tail naming the contact's id was cut.
func storedContact(c *adsync.ChangeRecord) (prefix int, rest string, flag int) {
	label := c.Contact
	if c.ContactID != 0 {
		if t := contactTail(c.ContactID); strings.HasSuffix(label, t) {
			label, flag = label[:len(label)-len(t)], bitContactTail
		}
	}
	prefix = commonPrefix(c.User, label)
	return prefix, label[prefix:], flag
}

// kindCodes and outcomeCodes are part of the stored format: a code is never
// reused or renumbered. Code 0 is followed by the value as a string (a kind
// or outcome a later version adds).
var (
	kindCodes = map[adsync.ChangeKind]byte{adsync.ChangeCreate: 1, adsync.ChangeLink: 2, adsync.ChangeUpdate: 3,
		adsync.ChangeReactivate: 4, adsync.ChangeDeactivate: 5, adsync.ChangeUnlink: 6}
	outcomeCodes = map[adsync.Outcome]byte{adsync.OutcomeUnknown: 1, adsync.OutcomeWritten: 2, adsync.OutcomeLinked: 3,
		adsync.OutcomeFailed: 4, adsync.OutcomeHeld: 5, adsync.OutcomeStopped: 6, adsync.OutcomeUnlinked: 7}
	codeKinds    = invert(kindCodes)
	codeOutcomes = invert(outcomeCodes)
)

func invert[K comparable](m map[K]byte) map[byte]K {
	out := make(map[byte]K, len(m))
	for k, c := range m {
		out[c] = k
	}
	return out
}

// StoredLabel returns the user's label as a store keeps it, and its flag
// bits: a user's label ends with its id (adsync.User.Label), which the
// record holds already, and a create's label is most often "first last
// <email>" of its fields.
func StoredLabel(c *adsync.ChangeRecord) (string, int) {
	flags := 0
	label := c.User
	// label ends with " (" + c.UserID + ")": tested without building it.
	if n := len(label) - len(c.UserID) - 3; n >= 0 && label[n:n+2] == " (" && label[len(label)-1] == ')' &&
		label[n+2:len(label)-1] == c.UserID {
		label, flags = label[:n], flags|bitLabelID
	}
	if label != "" && isFieldsLabel(label, c.Fields) {
		label, flags = "", flags|bitLabelNames
	}
	return label, flags
}

// isFieldsLabel reports whether label is FieldsLabel(fs), without building
// it when the fields cannot make it.
func isFieldsLabel(label string, fs []adsync.FieldChange) bool {
	for _, f := range fs {
		if f.Field == adsync.FirstName || f.Field == adsync.LastName || f.Field == adsync.Email {
			return label == FieldsLabel(fs)
		}
	}
	return false
}

// FullLabel rebuilds the label StoredLabel stored.
func FullLabel(stored string, flags int, userID string, fs []adsync.FieldChange) string {
	if flags&bitLabelNames != 0 {
		stored = FieldsLabel(fs)
	}
	if flags&bitLabelID != 0 {
		stored += " (" + userID + ")"
	}
	return stored
}

// FieldsLabel is a user's label as the fields of its create give it,
// "first last <email>" (adsync.User.Label without a display name).
func FieldsLabel(fs []adsync.FieldChange) string {
	var first, last, email string
	for _, f := range fs {
		switch f.Field {
		case adsync.FirstName:
			first = f.After
		case adsync.LastName:
			last = f.After
		case adsync.Email:
			email = f.After
		}
	}
	var parts []string
	for _, p := range []string{first, last} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if email != "" {
		parts = append(parts, "<"+email+">")
	}
	return strings.Join(parts, " ")
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// fieldCodeOf is fieldCodes by field; 0 for a field without a code.
var fieldCodeOf = func() (out [adsync.NumFields]byte) {
	for name, c := range fieldCodes {
		f, err := adsync.ParseField(name)
		if err != nil {
			panic("history: field code table: " + err.Error())
		}
		out[f] = c
	}
	return out
}()

// batchEncoder writes a batch; strings that repeat across a batch's
// records (rules, field values, errors) are written once and then
// referred to by their index.
type batchEncoder struct {
	b     []byte
	table map[string]int
}

// shared writes a string that may repeat: a new one as uvarint(2×length)
// and its bytes, one written before as uvarint(2×index+1); the empty
// string, the most common, as 0 and not in the table.
func (e *batchEncoder) shared(s string) {
	if s == "" {
		e.b = append(e.b, 0)
		return
	}
	if i, ok := e.table[s]; ok {
		e.b = binary.AppendUvarint(e.b, uint64(2*i+1))
		return
	}
	e.table[s] = len(e.table)
	e.b = binary.AppendUvarint(e.b, uint64(2*len(s)))
	e.b = append(e.b, s...)
}

// commonPrefix is the length of the prefix a and b share.
func commonPrefix(a, b string) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// EncodeBatch encodes records, in seq order, as one batch row holds them:
// a format byte (batchFormat, 2), the number of records, then per record:
// its seq (the difference from the previous record's), kind, flags (a
// uvarint), rule, user id (16 bytes when it is a GUID in its canonical
// form), the user's label (StoredLabel), contact id, contact label (the
// length of the prefix it shares with the user's label, then the rest: a
// contact's label most often starts with its user's name and email),
// fields (count, then per field its code, before and after), outcome,
// error, time (Unix microseconds, the difference from the previous
// record's), and, with bitUnlinked, the Unlinked links (count, then each
// as its JSON, length-prefixed, with times in UTC: they are rare, and
// kept whole). Rules, field values and errors repeat across a batch and
// are written once (batchEncoder.shared). keys is the row's key blob
// (KeySize bytes per record, in the same order). The records' OrgID and
// RunID are not stored: the row has them.
func EncodeBatch(recs []adsync.ChangeRecord) (data, keys []byte, err error) {
	e := &batchEncoder{b: make([]byte, 0, 1+len(recs)*120), table: make(map[string]int, 16)}
	e.b = append(e.b, batchFormat)
	e.b = binary.AppendUvarint(e.b, uint64(len(recs)))
	keys = make([]byte, 0, len(recs)*KeySize)
	prevSeq, prevAt := 0, int64(0)
	for i := range recs {
		c := &recs[i]
		if c.Seq < prevSeq {
			return nil, nil, fmt.Errorf("history: encode change batch: seq %d after %d", c.Seq, prevSeq)
		}
		label, flags := StoredLabel(c)
		prefix, contactRest, tail := storedContact(c)
		flags |= tail
		if c.Resolution {
			flags |= bitResolution
		}
		if c.Active != nil {
			flags |= bitActive
			if *c.Active {
				flags |= bitActiveTrue
			}
		}
		if !c.At.IsZero() {
			flags |= bitAt
		}
		if len(c.Unlinked) > 0 {
			flags |= bitUnlinked
		}
		guid, isGUID := parseGUID(c.UserID)
		if isGUID {
			flags |= bitUserGUID
		}
		e.b = binary.AppendUvarint(e.b, uint64(c.Seq-prevSeq))
		prevSeq = c.Seq
		if code, ok := kindCodes[c.Kind]; ok {
			e.b = append(e.b, code)
		} else {
			e.b = appendString(append(e.b, 0), string(c.Kind))
		}
		e.b = binary.AppendUvarint(e.b, flags2(flags))
		e.shared(c.Rule)
		if isGUID {
			e.b = append(e.b, guid[:]...)
		} else {
			e.b = appendString(e.b, c.UserID)
		}
		e.b = appendString(e.b, label)
		e.b = binary.AppendVarint(e.b, c.ContactID)
		e.b = binary.AppendUvarint(e.b, uint64(prefix))
		e.b = appendString(e.b, contactRest)
		e.b = binary.AppendUvarint(e.b, uint64(len(c.Fields)))
		for _, f := range c.Fields {
			code := byte(0)
			if f.Field.Valid() {
				code = fieldCodeOf[f.Field]
			}
			if code == 0 {
				return nil, nil, fmt.Errorf("history: encode field changes: field %v has no code (change %d)", f.Field, c.Seq)
			}
			e.b = append(e.b, code)
			e.shared(f.Before)
			e.shared(f.After)
		}
		if code, ok := outcomeCodes[c.Outcome]; ok {
			e.b = append(e.b, code)
		} else {
			e.b = appendString(append(e.b, 0), string(c.Outcome))
		}
		e.shared(c.Error)
		if flags&bitAt != 0 {
			at := c.At.UnixMicro()
			e.b = binary.AppendVarint(e.b, at-prevAt)
			prevAt = at
		}
		if flags&bitUnlinked != 0 {
			e.b = binary.AppendUvarint(e.b, uint64(len(c.Unlinked)))
			for _, l := range c.Unlinked {
				j, err := json.Marshal(CopyLink(l))
				if err != nil {
					return nil, nil, fmt.Errorf("history: encode change batch: unlinked link of user %q (change %d): %w", l.UserID, c.Seq, err)
				}
				e.b = appendString(e.b, string(j))
			}
		}
		keys = binary.BigEndian.AppendUint64(keys, uint64(c.ContactID))
		keys = appendUserKey(keys, c.UserID)
	}
	return e.b, keys, nil
}

// parseGUID returns the 16 bytes of a GUID written in its canonical form
// (lowercase hex, 8-4-4-4-12), as AD and Entra ID give user ids; ok is
// false for any other text, which is stored as it is.
func parseGUID(s string) (g [16]byte, ok bool) {
	if len(s) != 36 {
		return g, false
	}
	j := 0
	for i := 0; i < 36; {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if s[i] != '-' {
				return g, false
			}
			i++
			continue
		}
		hi, ok1 := hexVal(s[i])
		lo, ok2 := hexVal(s[i+1])
		if !ok1 || !ok2 {
			return g, false
		}
		g[j] = hi<<4 | lo
		j++
		i += 2
	}
	return g, true
}

func hexVal(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// formatGUID writes what parseGUID read.
func formatGUID(g []byte) string {
	const hexDigits = "0123456789abcdef"
	var b [36]byte
	j := 0
	for i := range b {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			b[i] = '-'
			continue
		}
		if j%2 == 0 {
			b[i] = hexDigits[g[j/2]>>4]
		} else {
			b[i] = hexDigits[g[j/2]&0xf]
		}
		j++
	}
	return string(b[:])
}

var errTruncated = errors.New("history: decode change batch: truncated")

// batchReader reads what EncodeBatch wrote.
type batchReader struct {
	b     []byte
	err   error
	table []string
}

func (r *batchReader) byte() byte {
	if len(r.b) == 0 {
		r.err = errTruncated
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *batchReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errTruncated
		r.b = nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *batchReader) varint() int64 {
	ux := r.uvarint() // zig-zag, as binary.AppendVarint writes it
	x := int64(ux >> 1)
	if ux&1 != 0 {
		x = ^x
	}
	return x
}

func (r *batchReader) next(n uint64) []byte {
	if uint64(len(r.b)) < n {
		r.err = errTruncated
		r.b = nil
		return nil
	}
	s := r.b[:n]
	r.b = r.b[n:]
	return s
}

func (r *batchReader) string() string { return string(r.next(r.uvarint())) }

// shared reads what batchEncoder.shared wrote.
func (r *batchReader) shared() string {
	v := r.uvarint()
	if v%2 == 1 {
		if v/2 >= uint64(len(r.table)) {
			r.err = errors.New("history: decode change batch: bad string reference")
			r.b = nil
			return ""
		}
		return r.table[v/2]
	}
	if v == 0 {
		return "" // not in the table
	}
	s := string(r.next(v / 2))
	r.table = append(r.table, s)
	return s
}

// unlinked reads a record's Unlinked links. A read past the end is left
// in r.err; a bad count or link is the error returned.
func (r *batchReader) unlinked(c *adsync.ChangeRecord) error {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n == 0 || n > uint64(len(r.b))/3 { // a link takes 3 bytes at least: its length and "{}"
		return fmt.Errorf("bad count %d of unlinked links (%d bytes left)", n, len(r.b))
	}
	c.Unlinked = make([]adsync.Link, n)
	for i := range c.Unlinked {
		j := r.next(r.uvarint())
		if r.err != nil {
			c.Unlinked = nil
			return nil
		}
		var l adsync.Link
		if err := json.Unmarshal(j, &l); err != nil {
			return fmt.Errorf("unlinked link %d: %w", i, err)
		}
		c.Unlinked[i] = CopyLink(l)
	}
	return nil
}

// DecodeBatch decodes what EncodeBatch encoded, in format 2 or in format
// 1 as earlier versions wrote it, setting each record's OrgID and RunID.
func DecodeBatch(b []byte, orgID string, runID int64) ([]adsync.ChangeRecord, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("history: decode change batch of run %d: empty", runID)
	}
	format := b[0]
	if format != batchFormat && format != batchFormat1 {
		return nil, fmt.Errorf("history: decode change batch of run %d: unknown format %d", runID, format)
	}
	r := &batchReader{b: b[1:]}
	n := r.uvarint()
	if n > uint64(len(r.b)) { // a record takes several bytes
		return nil, fmt.Errorf("%w (run %d)", errTruncated, runID)
	}
	var (
		out    = make([]adsync.ChangeRecord, 0, n)
		seq    uint64
		prevAt int64
	)
	for range n {
		c := adsync.ChangeRecord{OrgID: orgID, RunID: runID}
		if seq += r.uvarint(); seq > math.MaxInt32 {
			return nil, fmt.Errorf("history: decode change batch of run %d: seq %d out of range", runID, seq)
		}
		c.Seq = int(seq)
		if code := r.byte(); code == 0 {
			c.Kind = adsync.ChangeKind(r.string())
		} else if c.Kind = codeKinds[code]; c.Kind == "" {
			return nil, fmt.Errorf("history: decode change batch of run %d: unknown kind code %d", runID, code)
		}
		var flags int
		if format == batchFormat1 {
			flags = int(r.byte())
		} else if f := r.uvarint(); f&^knownFlags != 0 {
			return nil, fmt.Errorf("history: decode change batch of run %d: unknown flags %#x", runID, f&^knownFlags)
		} else {
			flags = fromFlags2(f)
		}
		c.Rule = r.shared()
		if flags&bitUserGUID != 0 {
			if g := r.next(16); r.err == nil {
				c.UserID = formatGUID(g)
			}
		} else {
			c.UserID = r.string()
		}
		label := r.string()
		c.ContactID = r.varint()
		prefix := r.uvarint()
		contactRest := r.string()
		nf := r.uvarint()
		if r.err != nil {
			break
		}
		if nf > uint64(len(r.b)) {
			return nil, fmt.Errorf("%w (run %d)", errTruncated, runID)
		}
		if nf > 0 {
			c.Fields = make([]adsync.FieldChange, nf)
		}
		for i := range c.Fields {
			code := r.byte()
			f, ok := codeFields[code]
			if !ok && r.err == nil {
				return nil, fmt.Errorf("history: decode change batch of run %d: unknown field code %d", runID, code)
			}
			c.Fields[i] = adsync.FieldChange{Field: f, Before: r.shared(), After: r.shared()}
		}
		c.User = FullLabel(label, flags, c.UserID, c.Fields)
		if prefix > uint64(len(c.User)) {
			return nil, fmt.Errorf("history: decode change batch of run %d: bad contact label", runID)
		}
		c.Contact = c.User[:prefix] + contactRest
		if flags&bitContactTail != 0 {
			c.Contact += contactTail(c.ContactID)
		}
		if code := r.byte(); code == 0 {
			c.Outcome = adsync.Outcome(r.string())
		} else if c.Outcome = codeOutcomes[code]; c.Outcome == "" && r.err == nil {
			return nil, fmt.Errorf("history: decode change batch of run %d: unknown outcome code %d", runID, code)
		}
		c.Error = r.shared()
		if flags&bitAt != 0 {
			prevAt += r.varint()
			c.At = time.UnixMicro(prevAt).UTC()
		}
		if flags&bitUnlinked != 0 {
			if err := r.unlinked(&c); err != nil {
				return nil, fmt.Errorf("history: decode change batch of run %d: change %d: %w", runID, c.Seq, err)
			}
		}
		c.Resolution = flags&bitResolution != 0
		if flags&bitActive != 0 {
			a := flags&bitActiveTrue != 0
			c.Active = &a
		}
		out = append(out, c)
	}
	if r.err == nil && len(r.b) > 0 {
		r.err = fmt.Errorf("history: decode change batch: %d bytes after the records", len(r.b))
	}
	if r.err != nil {
		return nil, fmt.Errorf("%w (run %d)", r.err, runID)
	}
	return out, nil
}

// UserKey is the 8-byte hash of a user id that the key blob holds (FNV-1a,
// 64 bits): a match in the blob is a candidate, checked against the decoded
// record.
func UserKey(userID string) []byte {
	return appendUserKey(make([]byte, 0, 8), userID)
}

// appendUserKey appends UserKey(userID) to b.
func appendUserKey(b []byte, userID string) []byte {
	const (
		offset64 = 14695981039346656037
		prime64  = 1099511628211
	)
	h := uint64(offset64)
	for i := 0; i < len(userID); i++ {
		h ^= uint64(userID[i])
		h *= prime64
	}
	return binary.BigEndian.AppendUint64(b, h)
}

// ContactKey is a contact id as the key blob holds it.
func ContactKey(id int64) []byte {
	return binary.BigEndian.AppendUint64(nil, uint64(id))
}

// MarkSize is the size of an encoded mark.
const MarkSize = 24

// EncodeMark encodes the range a batch row was last marked written with:
// From, To and At (Unix microseconds; math.MinInt64 for the zero time),
// 8 bytes each, big-endian. The size is fixed, so that marking a row
// leaves its size unchanged (SQLite then overwrites it in place). The
// zero range (From = To) is "no mark".
func EncodeMark(w adsync.Written) []byte {
	b := make([]byte, 0, MarkSize)
	at := int64(math.MinInt64)
	if !w.At.IsZero() {
		at = w.At.UnixMicro()
	}
	b = binary.BigEndian.AppendUint64(b, uint64(w.From))
	b = binary.BigEndian.AppendUint64(b, uint64(w.To))
	return binary.BigEndian.AppendUint64(b, uint64(at))
}

// DecodeMark decodes what EncodeMark encoded.
func DecodeMark(b []byte) (adsync.Written, error) {
	if len(b) != MarkSize {
		return adsync.Written{}, fmt.Errorf("history: decode change mark: %d bytes, want %d", len(b), MarkSize)
	}
	w := adsync.Written{From: int(int64(binary.BigEndian.Uint64(b))), To: int(int64(binary.BigEndian.Uint64(b[8:])))}
	if at := int64(binary.BigEndian.Uint64(b[16:])); at != math.MinInt64 {
		w.At = time.UnixMicro(at).UTC()
	}
	return w, nil
}

// ApplyMark gives the records w covers (adsync.Written.Covers) the
// outcome written, at w.At.
func ApplyMark(recs []adsync.ChangeRecord, w adsync.Written) {
	if w.To <= w.From {
		return
	}
	for i := range recs {
		if w.Covers(&recs[i]) {
			recs[i].Outcome, recs[i].At = adsync.OutcomeWritten, UTC(w.At)
		}
	}
}

// DecodeRow decodes a batch row's records and applies its mark.
func DecodeRow(orgID string, runID int64, mark, data []byte) ([]adsync.ChangeRecord, error) {
	w, err := DecodeMark(mark)
	if err != nil {
		return nil, err
	}
	recs, err := DecodeBatch(data, orgID, runID)
	if err != nil {
		return nil, err
	}
	ApplyMark(recs, w)
	return recs, nil
}

// BatchRow is a stored batch row, decoded: its records with its mark
// applied.
type BatchRow struct {
	// ID is the store's key of the row within its run (SQLite: its rowid;
	// PostgreSQL: its first seq).
	ID   int64
	Recs []adsync.ChangeRecord
}

// Bounds returns the lowest and highest seq of records in seq order.
func Bounds(recs []adsync.ChangeRecord) (first, last int) {
	return recs[0].Seq, recs[len(recs)-1].Seq
}

// LastBySeq returns the records in seq order, the last of each seq kept
// (as one call puts them: the last wins): recs itself when it is so
// already (as the Syncer's calls are), else a new list. The records are
// only read.
func LastBySeq(recs []adsync.ChangeRecord) []adsync.ChangeRecord {
	ordered := true
	for i := 1; i < len(recs) && ordered; i++ {
		ordered = recs[i-1].Seq < recs[i].Seq
	}
	if ordered {
		return recs
	}
	out := make([]adsync.ChangeRecord, 0, len(recs))
	out = append(out, recs...)
	// Stable: of records with one seq, the last given stays last.
	slices.SortStableFunc(out, func(a, b adsync.ChangeRecord) int { return a.Seq - b.Seq })
	j := 0
	for i := range out {
		if j > 0 && out[j-1].Seq == out[i].Seq {
			out[j-1] = out[i]
			continue
		}
		out[j] = out[i]
		j++
	}
	return out[:j]
}

// Place puts recs (LastBySeq) into the rows that may hold some of their
// seqs (decoded, marks applied): a record replaces the one of its seq in
// its row. It returns the rows it changed, and the records no row held, to
// be stored in new rows of at most BatchRecords each (Chunks).
func Place(rows []BatchRow, recs []adsync.ChangeRecord) (changed []BatchRow, rest []adsync.ChangeRecord) {
	if len(rows) == 0 {
		return nil, recs // the usual call: records of seqs not logged yet
	}
	where := make(map[int][2]int) // seq -> row, index
	for r := range rows {
		for i := range rows[r].Recs {
			where[rows[r].Recs[i].Seq] = [2]int{r, i}
		}
	}
	touched := make([]bool, len(rows))
	for _, c := range recs {
		if at, ok := where[c.Seq]; ok {
			rows[at[0]].Recs[at[1]] = c
			touched[at[0]] = true
			continue
		}
		rest = append(rest, c)
	}
	for r := range rows {
		if touched[r] {
			changed = append(changed, rows[r])
		}
	}
	return changed, rest
}

// Chunks splits records in seq order into the records of new batch rows.
func Chunks(recs []adsync.ChangeRecord) [][]adsync.ChangeRecord {
	var out [][]adsync.ChangeRecord
	for lo := 0; lo < len(recs); lo += BatchRecords {
		out = append(out, recs[lo:min(lo+BatchRecords, len(recs))])
	}
	return out
}

// Pager gathers a page of Changes from batch rows read in (run, first
// seq) order: rows of one run may overlap in seq, so a record is of the
// page once no row still to read can hold an earlier one.
type Pager struct {
	f      adsync.ChangeFilter
	limit  int
	recs   []adsync.ChangeRecord
	sorted bool
}

// NewPager returns a Pager of the page f selects.
func NewPager(f adsync.ChangeFilter) *Pager {
	return &Pager{f: f, limit: f.PageSize(), sorted: true}
}

func less(run int64, seq int, c *adsync.ChangeRecord) bool {
	return run < c.RunID || (run == c.RunID && seq < c.Seq)
}

// trim sorts what was gathered and keeps the page's records.
func (p *Pager) trim() {
	if !p.sorted {
		slices.SortFunc(p.recs, func(a, b adsync.ChangeRecord) int {
			if a.RunID != b.RunID {
				if a.RunID < b.RunID {
					return -1
				}
				return 1
			}
			return a.Seq - b.Seq
		})
		p.sorted = true
	}
	if len(p.recs) > p.limit {
		p.recs = p.recs[:p.limit]
	}
}

// Done reports whether the page is full and no row from one starting at
// (run, firstSeq) on can change it.
func (p *Pager) Done(run int64, firstSeq int) bool {
	if len(p.recs) < p.limit {
		return false
	}
	p.trim()
	return !less(run, firstSeq, &p.recs[p.limit-1])
}

// Add adds the records of a row (decoded, its mark applied) that the
// filter selects.
func (p *Pager) Add(recs []adsync.ChangeRecord) {
	for i := range recs {
		c := &recs[i]
		if !p.f.Match(c) {
			continue
		}
		if n := len(p.recs); n > 0 && p.sorted && !less(p.recs[n-1].RunID, p.recs[n-1].Seq, c) {
			p.sorted = false
		}
		p.recs = append(p.recs, *c)
	}
	if len(p.recs) >= 2*p.limit {
		p.trim()
	}
}

// Page returns the page.
func (p *Pager) Page() []adsync.ChangeRecord {
	p.trim()
	return p.recs
}
