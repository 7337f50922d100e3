package record

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
)

// The kind and outcome codes are part of the stored format: never reused
// or renumbered.
func TestBatchCodes(t *testing.T) {
	require.Equal(t, map[adsync.ChangeKind]byte{adsync.ChangeCreate: 1, adsync.ChangeLink: 2, adsync.ChangeUpdate: 3,
		adsync.ChangeReactivate: 4, adsync.ChangeDeactivate: 5, adsync.ChangeUnlink: 6}, kindCodes)
	require.Equal(t, map[adsync.Outcome]byte{adsync.OutcomeUnknown: 1, adsync.OutcomeWritten: 2, adsync.OutcomeLinked: 3,
		adsync.OutcomeFailed: 4, adsync.OutcomeHeld: 5, adsync.OutcomeStopped: 6, adsync.OutcomeUnlinked: 7}, outcomeCodes)
	for _, k := range adsync.ChangeKinds() {
		require.NotZero(t, kindCodes[k], "kind %s has a code", k)
	}
}

var (
	plus2  = time.FixedZone("UTC+2", 2*3600)
	tLink  = time.Date(2026, 2, 3, 4, 5, 6, 789_123_456, plus2)
	tSync  = time.Date(2026, 3, 1, 1, 59, 59, 1, time.UTC)
	tMiss  = time.Date(2025, 12, 31, 23, 0, 0, 0, time.FixedZone("UTC-5", -5*3600))
	tAtRec = time.Date(2026, 3, 1, 2, 0, 0, 123000, time.UTC)
)

// fullLink has every field set, its times in another zone than UTC, one
// with nanoseconds.
func fullLink() adsync.Link {
	return adsync.Link{OrgID: "org", UserID: "4b0d6a1e-93c2-4d1f-8a7b-0123456789ab", ContactID: 30_000_042, Created: true, Active: true,
		After: 17, Written: map[adsync.Field]string{adsync.FirstName: "Ann", adsync.Email: "ann@x.test", adsync.Title: "", adsync.Phone: "+1 555 0100 ✓"},
		LinkedAt: tLink, SyncedAt: tSync, MissingSince: tMiss, Anchor: "0b6f4a2c-0000-4000-8000-000000000001"}
}

func unlinkRec(seq int, links ...adsync.Link) adsync.ChangeRecord {
	return adsync.ChangeRecord{Seq: seq, Change: adsync.Change{Kind: adsync.ChangeUnlink, Rule: "undo:R-CONF-6", UserID: "u1", User: "Ann (u1)",
		ContactID: 42, Contact: "Ann (contact 42)", Unlinked: links}, Outcome: adsync.OutcomeUnlinked, At: tAtRec}
}

// Records with Unlinked links survive EncodeBatch and DecodeBatch, the
// links' times in UTC and an empty Written map as nil (as CopyChange
// gives them); records without links around them are unchanged.
func TestBatchUnlinked(t *testing.T) {
	pendingLink := adsync.Link{UserID: "u-p", Pending: true, Created: true, Active: true, After: 99,
		Written: map[adsync.Field]string{adsync.FirstName: "New", adsync.LastName: "User"}}
	inactive := adsync.Link{OrgID: "org", UserID: "u-i", ContactID: 7, MissingSince: tMiss, Written: map[adsync.Field]string{}}
	bare := adsync.Link{UserID: "u-b"}
	replaced := unlinkRec(1, fullLink())
	yes := true
	replaced.Kind, replaced.Outcome, replaced.Resolution, replaced.Active = adsync.ChangeReactivate, adsync.OutcomeWritten, true, &yes
	replaced.Fields = []adsync.FieldChange{{Field: adsync.Title, Before: "a", After: "b"}}

	for _, c := range []struct {
		name string
		recs []adsync.ChangeRecord
	}{
		{"one link", []adsync.ChangeRecord{unlinkRec(0, fullLink())}},
		{"two links", []adsync.ChangeRecord{unlinkRec(0, fullLink(), pendingLink)}},
		{"zero times, no Written", []adsync.ChangeRecord{unlinkRec(3, bare, inactive)}},
		{"a record of another kind with a link", []adsync.ChangeRecord{replaced}},
		{"records with and without links", []adsync.ChangeRecord{
			{Seq: 0, Change: adsync.Change{Kind: adsync.ChangeUpdate, UserID: "a", User: "a"}, Outcome: adsync.OutcomeWritten, At: tAtRec.Add(-time.Second)},
			unlinkRec(1, pendingLink, fullLink()),
			{Seq: 2, Change: adsync.Change{Kind: adsync.ChangeLink, UserID: "b", User: "b"}, Outcome: adsync.OutcomeLinked, At: tAtRec.Add(time.Second)},
			unlinkRec(5, inactive),
			{Seq: 6, Change: adsync.Change{Kind: adsync.ChangeUnlink, UserID: "c", User: "c", Unlinked: []adsync.Link{}}, Outcome: adsync.OutcomeUnlinked},
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			data, keys, err := EncodeBatch(c.recs)
			require.NoError(t, err)
			require.Equal(t, byte(batchFormat), data[0])
			require.Len(t, keys, KeySize*len(c.recs))
			got, err := DecodeBatch(data, "org", 9)
			require.NoError(t, err)
			require.Len(t, got, len(c.recs))
			for i, r := range c.recs {
				want := CopyChange(r)
				want.OrgID, want.RunID = "org", 9
				require.Equal(t, want, got[i], "record %d", i)
				for _, l := range got[i].Unlinked {
					for _, x := range []time.Time{l.LinkedAt, l.SyncedAt, l.MissingSince} {
						require.True(t, x.IsZero() || x.Location() == time.UTC, "link time %v in UTC", x)
					}
				}
			}
			for n := range len(data) {
				_, err := DecodeBatch(data[:n], "org", 9)
				require.Error(t, err, "cut at %d", n)
			}
		})
	}

	// The times are the same instants, the nanoseconds kept; the records
	// given are not changed.
	recs := []adsync.ChangeRecord{unlinkRec(0, fullLink())}
	data, _, err := EncodeBatch(recs)
	require.NoError(t, err)
	require.Equal(t, []byte{batchFormat, 1, 0, 6}, data[:4], "format 2, one record, seq 0, kind code 6")
	got, err := DecodeBatch(data, "org", 9)
	require.NoError(t, err)
	l := got[0].Unlinked[0]
	require.Equal(t, time.Date(2026, 2, 3, 2, 5, 6, 789_123_456, time.UTC), l.LinkedAt)
	require.Equal(t, tSync, l.SyncedAt)
	require.Equal(t, time.Date(2026, 1, 1, 4, 0, 0, 0, time.UTC), l.MissingSince)
	require.Equal(t, adsync.OutcomeUnlinked, got[0].Outcome)
	require.Equal(t, fullLink(), recs[0].Unlinked[0], "EncodeBatch changes nothing it is given")
}

// unlinkedSection returns a batch of one record with one Unlinked link
// and the offset of its Unlinked section (the count), the batch's end.
func unlinkedSection(t testing.TB) ([]byte, int) {
	t.Helper()
	data, _, err := EncodeBatch([]adsync.ChangeRecord{unlinkRec(0, fullLink())})
	require.NoError(t, err)
	j, err := json.Marshal(CopyLink(fullLink()))
	require.NoError(t, err)
	off := len(data) - 1 - len(binary.AppendUvarint(nil, uint64(len(j)))) - len(j)
	require.Equal(t, byte(1), data[off], "the count")
	return data, off
}

// Bad bytes in the Unlinked section are errors naming the run, not
// panics or huge allocations.
func TestBatchUnlinkedHostile(t *testing.T) {
	data, off := unlinkedSection(t)
	head := data[:off]
	uv := func(v uint64) []byte { return binary.AppendUvarint(nil, v) }
	cat := func(parts ...[]byte) []byte {
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	link := `{"orgId":"o","userId":"u","created":false,"active":true}`
	for _, c := range []struct {
		name string
		tail []byte
	}{
		{"no count", nil},
		{"a count of 0", uv(0)},
		{"a huge count", uv(1 << 62)},
		{"a count past the bytes left", cat(uv(3), uv(uint64(len(link))), []byte(link))},
		{"a huge link length", cat(uv(1), uv(1<<62))},
		{"a link length past the end", cat(uv(1), uv(uint64(len(link)+1)), []byte(link))},
		{"a link cut", cat(uv(1), uv(uint64(len(link))), []byte(link[:10]))},
		{"a link that is not JSON", cat(uv(1), uv(5), []byte("{oops"))},
		{"a link of the wrong JSON type", cat(uv(1), uv(2), []byte("[]"))},
		{"an unknown field in Written", cat(uv(1), uv(uint64(len(`{"written":{"shoeSize":"9"}}`))), []byte(`{"written":{"shoeSize":"9"}}`))},
		{"a bad time", cat(uv(1), uv(uint64(len(`{"linkedAt":"yesterday"}`))), []byte(`{"linkedAt":"yesterday"}`))},
		{"a byte after the link", cat(uv(1), uv(uint64(len(link))), []byte(link), []byte{0})},
	} {
		b := cat(head, c.tail)
		require.NotPanics(t, func() {
			_, err := DecodeBatch(b, "org", 31337)
			require.Error(t, err, c.name)
			require.Contains(t, err.Error(), "run 31337", c.name)
		}, c.name)
	}
	good := cat(head, uv(1), uv(uint64(len(link))), []byte(link))
	got, err := DecodeBatch(good, "org", 1)
	require.NoError(t, err, "the hand-built link")
	require.Equal(t, []adsync.Link{{OrgID: "o", UserID: "u", Active: true}}, got[0].Unlinked)

	// Flags of a later version, and formats not known.
	flagsAt := 4 // format, count, seq, kind
	require.Equal(t, uv(flags2(bitLabelID|bitAt|bitContactTail|bitUnlinked)), data[flagsAt:flagsAt+2])
	later := cat(data[:flagsAt], uv(flags2(bitUnlinked<<1|bitAt)), data[flagsAt+2:])
	_, err = DecodeBatch(later, "org", 5)
	require.ErrorContains(t, err, "unknown flags")
	require.ErrorContains(t, err, "run 5")
	for _, f := range []byte{0, 3, 255} {
		_, err = DecodeBatch(append([]byte{f}, data[1:]...), "org", 5)
		require.ErrorContains(t, err, "unknown format", "format %d", f)
	}
	_, err = DecodeBatch(nil, "org", 5)
	require.ErrorContains(t, err, "run 5")
}

// A link EncodeBatch cannot write as JSON is an error, not a record
// without it.
func TestBatchUnlinkedUnencodable(t *testing.T) {
	bad := fullLink()
	bad.Written = map[adsync.Field]string{adsync.NumFields: "x"}
	_, _, err := EncodeBatch([]adsync.ChangeRecord{unlinkRec(0, bad)})
	require.Error(t, err)
	year := fullLink()
	year.SyncedAt = time.Date(10_000, 1, 1, 0, 0, 0, 0, time.UTC)
	_, _, err = EncodeBatch([]adsync.ChangeRecord{unlinkRec(0, year)})
	require.Error(t, err)
}

// CopyChange copies Unlinked deeply, with times in UTC and an empty list
// or Written map as nil.
func TestCopyChangeUnlinked(t *testing.T) {
	r := unlinkRec(0, fullLink(), adsync.Link{UserID: "x", Written: map[adsync.Field]string{}})
	c := CopyChange(r)
	require.Equal(t, tLink.UTC(), c.Unlinked[0].LinkedAt)
	require.Equal(t, time.UTC, c.Unlinked[0].MissingSince.Location())
	require.Nil(t, c.Unlinked[1].Written)
	c.Unlinked[0].Written[adsync.FirstName] = "changed"
	c.Unlinked[0].UserID = "changed"
	require.Equal(t, fullLink(), r.Unlinked[0], "the copy is its own")
	r.Unlinked = []adsync.Link{}
	require.Nil(t, CopyChange(r).Unlinked)
}

// DecodeBatch returns records or an error for any bytes, never panics;
// what it returns encodes again to the same records.
func FuzzDecodeBatch(f *testing.F) {
	seeds := [][]adsync.ChangeRecord{
		dailyBatch(3),
		{unlinkRec(0, fullLink())},
		{unlinkRec(0, fullLink(), adsync.Link{UserID: "u-p", Pending: true, Created: true}), unlinkRec(4)},
	}
	for _, s := range seeds {
		data, _, err := EncodeBatch(s)
		require.NoError(f, err)
		f.Add(data)
	}
	f1, err := hex.DecodeString(format1Batch)
	require.NoError(f, err)
	f.Add(f1)
	data, off := unlinkedSection(f)
	f.Add(append(data[:off:off], 1, 2, '[', ']'))
	f.Add(append(data[:off:off], 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f))
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, err := DecodeBatch(b, "org", 1)
		if err != nil {
			return
		}
		again, _, err := EncodeBatch(recs)
		if err != nil {
			return // e.g. a link time JSON can read and not write
		}
		got, err := DecodeBatch(again, "org", 1)
		require.NoError(t, err)
		require.Equal(t, recs, got)
	})
}

// TestFlags2: format 2 keeps the common flags in the uvarint's first byte
// and reads back every combination of the known bits.
func TestFlags2(t *testing.T) {
	common := bitLabelID | bitLabelNames | bitActive | bitActiveTrue | bitAt | bitUserGUID | bitContactTail
	require.Len(t, binary.AppendUvarint(nil, flags2(common)), 1, "a record without a resolution or unlinked links: one byte")
	require.Len(t, binary.AppendUvarint(nil, flags2(common|bitResolution)), 2)
	for f := 0; f <= knownFlags; f++ {
		require.Equal(t, f, fromFlags2(flags2(f)), "flags %#x", f)
		require.LessOrEqual(t, flags2(f), uint64(knownFlags), "flags %#x stay within the known bits", f)
	}
}
