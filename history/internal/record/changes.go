package record

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/psasync/adsync"
)

// CopyChange returns r with its own Fields, Active and Unlinked (each
// link copied by CopyLink) and its times in UTC.
func CopyChange(r adsync.ChangeRecord) adsync.ChangeRecord {
	r.At = UTC(r.At)
	r.Fields = clone(r.Fields)
	if r.Active != nil {
		a := *r.Active
		r.Active = &a
	}
	if len(r.Unlinked) == 0 {
		r.Unlinked = nil
	} else {
		links := make([]adsync.Link, len(r.Unlinked))
		for i, l := range r.Unlinked {
			links[i] = CopyLink(l)
		}
		r.Unlinked = links
	}
	return r
}

// CheckChanges refuses records that name another organization or run than
// the PutChanges call's, and a kind or outcome the log does not know.
func CheckChanges(orgID string, runID int64, rs []adsync.ChangeRecord) error {
	if err := CheckOrg("put changes", orgID); err != nil {
		return err
	}
	for i := range rs {
		r := &rs[i]
		switch {
		case r.OrgID != "" && r.OrgID != orgID:
			return fmt.Errorf("history: put changes of organization %q: record %d names organization %q", orgID, r.Seq, r.OrgID)
		case r.RunID != 0 && r.RunID != runID:
			return fmt.Errorf("history: put changes of run %d of %q: record %d names run %d", runID, orgID, r.Seq, r.RunID)
		case r.Seq < 0:
			return fmt.Errorf("history: put changes of run %d of %q: negative seq %d", runID, orgID, r.Seq)
		}
	}
	return nil
}

// fieldRow is a field change as the SQL stores keep it: [name, before,
// after], a third of the size of the named form.
type fieldRow [3]string

// EncodeFields encodes a record's field changes as a compact JSON list;
// nil when there are none.
func EncodeFields(fs []adsync.FieldChange) ([]byte, error) {
	if len(fs) == 0 {
		return nil, nil
	}
	rows := make([]fieldRow, len(fs))
	for i, f := range fs {
		rows[i] = fieldRow{f.Field.String(), f.Before, f.After}
	}
	return json.Marshal(rows)
}

// DecodeFields decodes what EncodeFields encoded.
func DecodeFields(b []byte) ([]adsync.FieldChange, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var rows []fieldRow
	if err := json.Unmarshal(b, &rows); err != nil {
		return nil, fmt.Errorf("history: decode field changes: %w", err)
	}
	out := make([]adsync.FieldChange, len(rows))
	for i, r := range rows {
		f, err := adsync.ParseField(r[0])
		if err != nil {
			return nil, fmt.Errorf("history: decode field changes: %w", err)
		}
		out[i] = adsync.FieldChange{Field: f, Before: r[1], After: r[2]}
	}
	return out, nil
}

// fieldCodes are the one-byte codes of the fields in the compact encoding
// (EncodeFieldsCompact). They are part of the stored format: a code is
// never reused or renumbered, and a new field gets the next one.
var fieldCodes = map[string]byte{
	"firstName": 1, "lastName": 2, "middleInitial": 3, "emailAddress": 4, "title": 5, "phone": 6, "mobilePhone": 7,
	"faxNumber": 8, "alternatePhone": 9, "addressLine": 10, "addressLine1": 11, "city": 12, "state": 13, "zipCode": 14,
	"countryID": 15, "roomNumber": 16,
}

var codeFields = func() map[byte]adsync.Field {
	m := make(map[byte]adsync.Field, len(fieldCodes))
	for name, c := range fieldCodes {
		f, err := adsync.ParseField(name)
		if err != nil {
			panic("history: field code table: " + err.Error())
		}
		m[c] = f
	}
	return m
}()

// EncodeFieldsCompact encodes field changes as the SQLite store keeps them,
// a BLOB of, per field, its code (fieldCodes), then the before and after
// values, each as a uvarint length and the bytes. It is about half the size
// of the JSON form: a first run logs 400,000 creates of a dozen fields.
// nil when there are none.
func EncodeFieldsCompact(fs []adsync.FieldChange) ([]byte, error) {
	if len(fs) == 0 {
		return nil, nil
	}
	n := 0
	for _, f := range fs {
		n += 1 + 2*binary.MaxVarintLen16 + len(f.Before) + len(f.After)
	}
	b := make([]byte, 0, n)
	for _, f := range fs {
		code, ok := fieldCodes[f.Field.String()]
		if !ok {
			return nil, fmt.Errorf("history: encode field changes: field %v has no code", f.Field)
		}
		b = append(b, code)
		b = binary.AppendUvarint(b, uint64(len(f.Before)))
		b = append(b, f.Before...)
		b = binary.AppendUvarint(b, uint64(len(f.After)))
		b = append(b, f.After...)
	}
	return b, nil
}

// DecodeFieldsCompact decodes what EncodeFieldsCompact encoded.
func DecodeFieldsCompact(b []byte) ([]adsync.FieldChange, error) {
	var out []adsync.FieldChange
	str := func() (string, error) {
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n {
			return "", errors.New("history: decode field changes: truncated value")
		}
		s := string(b[k : k+int(n)])
		b = b[k+int(n):]
		return s, nil
	}
	for len(b) > 0 {
		f, ok := codeFields[b[0]]
		if !ok {
			return nil, fmt.Errorf("history: decode field changes: unknown field code %d", b[0])
		}
		b = b[1:]
		fc := adsync.FieldChange{Field: f}
		var err error
		if fc.Before, err = str(); err != nil {
			return nil, err
		}
		if fc.After, err = str(); err != nil {
			return nil, err
		}
		out = append(out, fc)
	}
	return out, nil
}
