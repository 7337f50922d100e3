package record

import (
	"fmt"
	"hash/fnv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
)

func dailyBatch(n int) []adsync.ChangeRecord {
	out := make([]adsync.ChangeRecord, n)
	t0 := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	for i := range out {
		id := fmt.Sprintf("%08x-0000-4000-8000-%012d", i*100, i*100)
		out[i] = adsync.ChangeRecord{Seq: i, At: t0, Outcome: adsync.OutcomeUnknown, Change: adsync.Change{
			Kind: adsync.ChangeUpdate, Rule: "R-FIELD-3", UserID: id, User: "First Lastname <first.lastname@northwind.example> (" + id + ")",
			ContactID: int64(30_000_000 + i*100), Contact: fmt.Sprintf("First Lastname <first.lastname@northwind.example> (contact %d)", 30_000_000+i*100),
			Fields: []adsync.FieldChange{{Field: adsync.Title, Before: "Software Engineer", After: "Senior Software Engineer"}}}}
	}
	return out
}

func BenchmarkEncodeBatch(b *testing.B) {
	recs := dailyBatch(BatchRecords)
	for b.Loop() {
		data, _, err := EncodeBatch(recs)
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(data)))
	}
}

func BenchmarkDecodeBatch(b *testing.B) {
	data, _, err := EncodeBatch(dailyBatch(BatchRecords))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := DecodeBatch(data, "org", 1); err != nil {
			b.Fatal(err)
		}
	}
}

// The key of a user id is its FNV-1a hash, 64 bits, big-endian: part of
// the stored format.
func TestUserKeyIsFNV1a(t *testing.T) {
	h := fnv.New64a()
	h.Write([]byte("4b0d6a1e-0000-4000-8000-000000000042"))
	if got, want := UserKey("4b0d6a1e-0000-4000-8000-000000000042"), h.Sum(nil); string(got) != string(want) {
		t.Fatalf("UserKey %x, want %x", got, want)
	}
}

// Every field of a record survives EncodeBatch and DecodeBatch: labels
// stored short or whole, user ids as GUIDs or not (upper-case GUIDs stay
// text), kinds and outcomes without a code, zero times, repeated strings.
func TestBatchRoundTrip(t *testing.T) {
	yes, no := true, false
	at := time.Date(2026, 3, 1, 2, 0, 0, 123000, time.UTC)
	guid := "4b0d6a1e-93c2-4d1f-8a7b-0123456789ab"
	recs := []adsync.ChangeRecord{
		{Seq: 0, Change: adsync.Change{Kind: adsync.ChangeCreate, Rule: "R-MATCH-5", UserID: guid, User: "Ann Lee <ann@x.test> (" + guid + ")",
			ContactID: 7, Contact: "Ann Lee <ann@x.test> (contact 7)", Fields: []adsync.FieldChange{{Field: adsync.FirstName, After: "Ann"},
				{Field: adsync.LastName, After: "Lee"}, {Field: adsync.Email, After: "ann@x.test"}}}, Outcome: adsync.OutcomeWritten, At: at},
		{Seq: 3, Change: adsync.Change{Kind: adsync.ChangeReactivate, Rule: "R-MATCH-5", UserID: "4B0D6A1E-93C2-4D1F-8A7B-0123456789AB",
			User: "Zoë (x)", ContactID: -1, Contact: "", Resolution: true, Active: &yes,
			Fields: []adsync.FieldChange{{Field: adsync.Title, Before: "Ann", After: ""}}}, Outcome: adsync.OutcomeFailed, Error: "e ✓", At: at.Add(-time.Hour)},
		{Seq: 4, Change: adsync.Change{Kind: "merge", UserID: "", User: " ()", Active: &no}, Outcome: "later", Error: "e ✓"},
		{Seq: 1 << 30, Change: adsync.Change{Kind: adsync.ChangeDeactivate, UserID: "u", User: "u (u)", ContactID: 1 << 40, Contact: "u (contact)"},
			Outcome: adsync.OutcomeUnknown, At: at},
		// The contact's label naming its id: the tail is cut and put
		// back; naming another id, or none, it is stored whole.
		{Seq: 1<<30 + 1, Change: adsync.Change{Kind: adsync.ChangeUpdate, UserID: "v", User: "Bo (v)", ContactID: 42, Contact: "(contact 42)"}},
		{Seq: 1<<30 + 2, Change: adsync.Change{Kind: adsync.ChangeUpdate, UserID: "w", User: "Bo <b@x> (w)", ContactID: -3, Contact: "Bo <b@x> (contact -3)"}},
		{Seq: 1<<30 + 3, Change: adsync.Change{Kind: adsync.ChangeUpdate, UserID: "x", User: "Bo (x)", ContactID: 42, Contact: "Bo (contact 421)"}},
		{Seq: 1<<30 + 4, Change: adsync.Change{Kind: adsync.ChangeUpdate, UserID: "y", User: "Bo (y)", Contact: "Bo (contact 0)"}},
	}
	data, keys, err := EncodeBatch(recs)
	require.NoError(t, err)
	require.Len(t, keys, KeySize*len(recs))
	got, err := DecodeBatch(data, "org", 9)
	require.NoError(t, err)
	for i := range recs {
		recs[i].OrgID, recs[i].RunID = "org", 9
	}
	require.Equal(t, recs, got)
	whole, _, err := EncodeBatch([]adsync.ChangeRecord{{Change: adsync.Change{UserID: "w", User: "Bo <b@x> (w)", ContactID: -3, Contact: "Bo <b@x> (contact -4)"}}})
	require.NoError(t, err)
	cut, _, err := EncodeBatch([]adsync.ChangeRecord{{Change: adsync.Change{UserID: "w", User: "Bo <b@x> (w)", ContactID: -3, Contact: "Bo <b@x> (contact -3)"}}})
	require.NoError(t, err)
	// The tail's flag fits the flags' first byte (flags2): no byte added.
	require.Equal(t, len(whole)-len("contact -4)"), len(cut), "the tail naming the contact's id is not stored (its \"(\" was shared with the user's label)")
	require.Equal(t, ContactKey(1<<40), keys[3*KeySize:3*KeySize+8])
	require.Equal(t, UserKey(guid), keys[8:16])

	for n := 0; n < len(data); n++ {
		_, err := DecodeBatch(data[:n], "org", 9)
		require.Error(t, err, "cut at %d", n)
	}
	_, err = DecodeBatch(append(data, 0), "org", 9)
	require.Error(t, err, "a byte after the records")
	_, _, err = EncodeBatch([]adsync.ChangeRecord{{Seq: 2}, {Seq: 1}})
	require.Error(t, err, "out of order")
}

func TestMarkRoundTrip(t *testing.T) {
	for _, w := range []adsync.Written{{}, {From: 500, To: 1000, At: time.Date(2026, 3, 1, 2, 0, 0, 5000, time.UTC)}} {
		b := EncodeMark(w)
		require.Len(t, b, MarkSize)
		got, err := DecodeMark(b)
		require.NoError(t, err)
		require.Equal(t, w, got)
	}
}

// Of records given twice in one call, the last wins, in seq order.
func TestLastBySeq(t *testing.T) {
	recs := []adsync.ChangeRecord{{Seq: 5, Error: "a"}, {Seq: 1}, {Seq: 5, Error: "b"}, {Seq: 3}}
	got := LastBySeq(recs)
	require.Equal(t, []adsync.ChangeRecord{{Seq: 1}, {Seq: 3}, {Seq: 5, Error: "b"}}, got)
	require.Equal(t, "a", recs[0].Error, "the records given are not changed")
}

// Rows whose seqs interleave give a page in (run, seq) order, and the
// pager stops only once no row to come can hold an earlier record.
func TestPagerOverlappingRows(t *testing.T) {
	recs := func(run int64, seqs ...int) []adsync.ChangeRecord {
		var out []adsync.ChangeRecord
		for _, s := range seqs {
			out = append(out, adsync.ChangeRecord{RunID: run, Seq: s})
		}
		return out
	}
	rows := []struct {
		run   int64
		first int
		recs  []adsync.ChangeRecord
	}{
		{1, 0, recs(1, 0, 4, 8)}, {1, 1, recs(1, 1, 2)}, {1, 3, recs(1, 3, 9)}, {1, 10, recs(1, 10)}, {2, 0, recs(2, 0)},
	}
	p := NewPager(adsync.ChangeFilter{Limit: 4})
	read := 0
	for _, r := range rows {
		if p.Done(r.run, r.first) {
			break
		}
		p.Add(r.recs)
		read++
	}
	require.Equal(t, recs(1, 0, 1, 2, 3), p.Page())
	require.Equal(t, 3, read, "the row starting at seq 10 cannot hold one of the page")
}
