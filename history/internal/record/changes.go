package record

import (
	"encoding/json"
	"fmt"

	"github.com/psasync/adsync"
)

// CopyChange returns r with its own Fields and Active and its time in
// UTC.
func CopyChange(r adsync.ChangeRecord) adsync.ChangeRecord {
	r.At = UTC(r.At)
	r.Fields = clone(r.Fields)
	if r.Active != nil {
		a := *r.Active
		r.Active = &a
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
