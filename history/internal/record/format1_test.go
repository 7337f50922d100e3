package record

import (
	"encoding/hex"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
)

// format1Batch is EncodeBatch of format1Recs as batch format 1 wrote it
// (flags as one byte), kept as it was: rows written by earlier versions
// are read by every later one.
const format1Batch = "01030201e612522d4d415443482d354b0d6a1e93c24d1f8a7b0123456789ab00" +
	"0e150003010006416e6e0200064c6565040014616e6e40782e746573740200f6" +
	"a1d5be9afba50603043b0102753202426f10020001050300040a6520e29c93ff" +
	"8f9de91a0100056d6572676500000275330243790000000000056c6174657200"

// format1Recs are the records of format1Batch: a GUID user id, labels
// stored short, a contact label's tail cut, shared strings, Active and
// Resolution, a kind and an outcome without a code.
func format1Recs() []adsync.ChangeRecord {
	yes := true
	at := time.Date(2026, 3, 1, 2, 0, 0, 123000, time.UTC)
	guid := "4b0d6a1e-93c2-4d1f-8a7b-0123456789ab"
	return []adsync.ChangeRecord{
		{Seq: 2, Change: adsync.Change{Kind: adsync.ChangeCreate, Rule: "R-MATCH-5", UserID: guid, User: "Ann Lee <ann@x.test> (" + guid + ")",
			ContactID: 7, Contact: "Ann Lee <ann@x.test> (contact 7)", Fields: []adsync.FieldChange{{Field: adsync.FirstName, After: "Ann"},
				{Field: adsync.LastName, After: "Lee"}, {Field: adsync.Email, After: "ann@x.test"}}}, Outcome: adsync.OutcomeWritten, At: at},
		{Seq: 5, Change: adsync.Change{Kind: adsync.ChangeReactivate, Rule: "R-MATCH-5", UserID: "u2", User: "Bo (u2)", ContactID: 8,
			Contact: "Bo", Resolution: true, Active: &yes, Fields: []adsync.FieldChange{{Field: adsync.Title, Before: "Ann", After: ""}}},
			Outcome: adsync.OutcomeFailed, Error: "e ✓", At: at.Add(-time.Hour)},
		{Seq: 6, Change: adsync.Change{Kind: "merge", UserID: "u3", User: "Cy"}, Outcome: "later"},
	}
}

// A batch row of format 1 decodes to the records it was written from, and
// cut anywhere it is an error.
func TestBatchFormat1(t *testing.T) {
	data, err := hex.DecodeString(format1Batch)
	require.NoError(t, err)
	require.Equal(t, byte(1), data[0], "format 1")
	got, err := DecodeBatch(data, "org", 4)
	require.NoError(t, err)
	want := format1Recs()
	for i := range want {
		want[i].OrgID, want[i].RunID = "org", 4
	}
	require.Equal(t, want, got)
	for n := range len(data) {
		_, err := DecodeBatch(data[:n], "org", 4)
		require.Error(t, err, "cut at %d", n)
	}
}
