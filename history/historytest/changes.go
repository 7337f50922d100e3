package historytest

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
)

var changeTests = []test{
	{"change log records round-trip with every field",
		"ChangeStore.PutChanges: stores every field of adsync.ChangeRecord (the embedded Change included: kind, adsync.ChangeUnlink too, rule, user id and label, contact id and label, fields before→after, active, resolution, and the Unlinked links whole, every field of each, their times in UTC; outcome, adsync.OutcomeUnlinked too, error, time in UTC) keyed by (run, seq), setting OrgID and RunID; Changes with Kind adsync.ChangeUnlink selects the unlinks; a second PutChanges of the same seq replaces the record (the Syncer logs a change pending, then its outcome); records returned are copies, their Unlinked links and Written maps too",
		testChangeFields},
	{"R-RUN-7 PutChanges saves links in the same step and refuses bad records whole",
		"ChangeStore.PutChanges: also inserts or replaces the links given, as PutLinks does, in the same atomic step (R-RUN-7); a record naming another organization or run, or a link of another organization, fails the call and writes neither records nor links; a run that is not kept (never issued, or another organization's) is adsync.ErrNotFound",
		testChangesAtomic},
	{"R-RUN-7 PutOutcomes marks a batch written and records the rest in one step",
		"ChangeStore.PutOutcomes: in one atomic step, every stored record of the run with Seq in [Written.From, Written.To) and OutcomeUnknown becomes OutcomeWritten with At = Written.At and its other fields unchanged; records outside the range, of other runs, or with another outcome are untouched; then the records given are inserted or replaced (also in the range, also with OutcomeUnknown) and the links put; a bad record, a link of another organization or an invalid range (negative From, To before From) fails the call and changes nothing; a run that is not kept is adsync.ErrNotFound",
		testPutOutcomes},
	{"R-RUN-3 the change log is pruned with its run",
		"RunStore.FinishRun: removes a pruned run's change records with it (R-RUN-3): once a run is beyond the newest adsync.KeepRuns, Changes returns none of its records; the kept runs' records and other organizations' are untouched",
		testChangesPrune},
	{"change log filters and pages",
		"ChangeStore.Changes: returns the organization's records in (RunID, Seq) order, at most ChangeFilter.PageSize() of them, selected by RunID, UserID, ContactID and Kind; AfterRun/AfterSeq continue after the given record, so that paging visits every record once; other organizations' records never show",
		testChangePages},
	{"a 20,000-change run logged in batches of 500 reads back in pages",
		"ChangeStore.Changes: pages through every record of a large run (a first run may log 400,000 changes, put per batch of 500, pending then with outcomes), in order",
		testManyChanges},
}

func fullChange(seq int) adsync.ChangeRecord {
	return adsync.ChangeRecord{
		OrgID: "org-a", RunID: 0, Seq: seq,
		Change: adsync.Change{Kind: adsync.ChangeReactivate, Rule: "R-MATCH-2", UserID: "user-é", User: "Zoë O'Brien <zoe@example.test>",
			ContactID: 4711, Contact: "Zoë OBrien", Resolution: true, Active: ptr(true),
			Fields: []adsync.FieldChange{{Field: adsync.Title, Before: "", After: "Ünïcode ✓"}, {Field: adsync.Phone, Before: "+1 555 0100", After: "+1 555 0199"}},
			// The resolution took the contact from an out-of-scope user's
			// link (R-CONF-6), pending in the journal.
			Unlinked: []adsync.Link{pending("org-a", "user-gone", 4700)}},
		Outcome: adsync.OutcomeFailed, Error: "validation failed: phone \"x\"", At: at(time.Second),
	}
}

func ptr[T any](v T) *T { return &v }

// unlinkChange is a change that only drops links: two, one created by
// the sync and active, one not and inactive, with their Written values and
// times (in another zone than UTC, with milliseconds).
func unlinkChange(seq int) adsync.ChangeRecord {
	return adsync.ChangeRecord{Seq: seq, Change: adsync.Change{Kind: adsync.ChangeUnlink, Rule: "undo:R-CONF-6", UserID: "user-u",
		User: "Una Link <una@example.test> (user-u)", ContactID: 4, Contact: "Una Link (contact 4)",
		Unlinked: []adsync.Link{link("org-a", "user-u", 4), link("org-a", "user-v", 9)}}, Outcome: adsync.OutcomeUnlinked, At: at(1500 * time.Millisecond)}
}

func normChange(c adsync.ChangeRecord) adsync.ChangeRecord {
	c.At = utc(c.At)
	c.Fields = nilIfEmpty(c.Fields)
	if len(c.Unlinked) == 0 {
		c.Unlinked = nil
	} else {
		links := make([]adsync.Link, len(c.Unlinked))
		for i, l := range c.Unlinked {
			links[i] = normLink(l)
		}
		c.Unlinked = links
	}
	return c
}

// requireChangeUTC checks that a record's times are in UTC, its Unlinked
// links' too.
func requireChangeUTC(t *testing.T, what string, c adsync.ChangeRecord) {
	t.Helper()
	requireUTC(t, what, c.At)
	for _, l := range c.Unlinked {
		requireUTC(t, what+": unlinked link of "+l.UserID, l.LinkedAt, l.SyncedAt, l.MissingSince)
	}
}

func allChanges(t *testing.T, s adsync.HistoryStore, org string, f adsync.ChangeFilter) []adsync.ChangeRecord {
	t.Helper()
	var out []adsync.ChangeRecord
	for {
		page, err := s.Changes(t.Context(), org, f)
		require.NoError(t, err, "Changes(%s, %+v)", org, f)
		require.LessOrEqual(t, len(page), f.PageSize(), "a page holds at most PageSize records")
		out = append(out, page...)
		if len(page) < f.PageSize() {
			return out
		}
		f.AfterRun, f.AfterSeq = page[len(page)-1].RunID, page[len(page)-1].Seq
	}
}

func testChangeFields(t *testing.T, s adsync.HistoryStore) {
	r := startRun(t, s, "org-a", t0)
	want := fullChange(3)
	want.RunID = r.ID
	requireAllSet(t, want)
	requireAllSet(t, want.Change)
	noIDs := want
	noIDs.OrgID, noIDs.RunID = "", 0
	// A label ending with the user id in parentheses, as adsync.User.Label
	// makes them (a store may keep it without).
	deact := adsync.ChangeRecord{Seq: 0, Change: adsync.Change{Kind: adsync.ChangeDeactivate, Rule: "R-DEACT-1", UserID: "user-d",
		User: "Dee Dee <dd@example.test> (user-d)", ContactID: 9, Active: ptr(false)}, Outcome: adsync.OutcomeUnknown, At: t0}
	unlink := unlinkChange(5)
	requireAllSet(t, unlink.Unlinked[0], "Pending", "After") // fullChange has a pending link
	require.False(t, unlink.Unlinked[1].Created || unlink.Unlinked[1].Active, "the fixture: one link created and active, one not")
	require.NoError(t, s.PutChanges(t.Context(), "org-a", r.ID, []adsync.ChangeRecord{deact, noIDs, unlink}, nil))
	got := allChanges(t, s, "org-a", adsync.ChangeFilter{RunID: r.ID})
	require.Len(t, got, 3)
	deact.OrgID, deact.RunID = "org-a", r.ID
	require.Equal(t, normChange(deact), normChange(got[0]), "the pending deactivation")
	requireChangeUTC(t, "change record", got[1])
	require.True(t, want.At.Equal(got[1].At), "At %v, want %v", got[1].At, want.At)
	require.Equal(t, normChange(want), normChange(got[1]), "the record with every field")
	unlink.OrgID, unlink.RunID = "org-a", r.ID
	requireChangeUTC(t, "unlink record", got[2])
	for i, l := range got[2].Unlinked {
		require.True(t, unlink.Unlinked[i].LinkedAt.Equal(l.LinkedAt) && unlink.Unlinked[i].SyncedAt.Equal(l.SyncedAt) &&
			unlink.Unlinked[i].MissingSince.Equal(l.MissingSince), "unlinked link %d: the times are the same instants", i)
	}
	require.Equal(t, normChange(unlink), normChange(got[2]), "the unlink record")
	unlinks := allChanges(t, s, "org-a", adsync.ChangeFilter{Kind: adsync.ChangeUnlink})
	require.Len(t, unlinks, 1, "Changes with Kind unlink")
	require.Equal(t, normChange(unlink), normChange(unlinks[0]), "Changes with Kind unlink")

	// The outcome replaces the pending record.
	deact.Outcome, deact.At = adsync.OutcomeWritten, at(2*time.Second)
	require.NoError(t, s.PutChanges(t.Context(), "org-a", r.ID, []adsync.ChangeRecord{deact}, nil))
	got = allChanges(t, s, "org-a", adsync.ChangeFilter{RunID: r.ID})
	require.Len(t, got, 3, "replaced, not added")
	require.Equal(t, adsync.OutcomeWritten, got[0].Outcome)

	// Copies: changing what was returned changes nothing stored.
	got[1].Fields[0].After = "changed"
	*got[1].Active = false
	got[1].Unlinked[0].Written[adsync.FirstName] = "changed"
	got[2].Unlinked[1].Written[adsync.Email] = "changed"
	got[2].Unlinked[0].UserID = "changed"
	again := allChanges(t, s, "org-a", adsync.ChangeFilter{RunID: r.ID})
	require.Equal(t, normChange(want), normChange(again[1]), "records are copies")
	require.Equal(t, normChange(unlink), normChange(again[2]), "records are copies, their Unlinked links too")
}

func testChangesAtomic(t *testing.T, s adsync.HistoryStore) {
	ctx := t.Context()
	ra := startRun(t, s, "org-a", t0)
	rb := startRun(t, s, "org-b", t0)
	rec := fullChange(0)
	rec.OrgID = ""
	l := link("org-a", "user-l", 5)
	require.NoError(t, s.PutChanges(ctx, "org-a", ra.ID, []adsync.ChangeRecord{rec}, []adsync.Link{l}))
	requireLinks(t, s, "org-a", []adsync.Link{l}, "links put with the changes")

	bad := []struct {
		name    string
		org     string
		run     int64
		changes []adsync.ChangeRecord
		links   []adsync.Link
	}{
		{"a record of another organization", "org-a", ra.ID, []adsync.ChangeRecord{fullChange(1), {OrgID: "org-b", Seq: 2}}, nil},
		{"a record of another run", "org-a", ra.ID, []adsync.ChangeRecord{{Seq: 1}, {RunID: rb.ID, Seq: 2}}, nil},
		{"a link of another organization", "org-a", ra.ID, []adsync.ChangeRecord{{Seq: 1}}, []adsync.Link{link("org-b", "user-x", 6)}},
	}
	for _, b := range bad {
		err := s.PutChanges(ctx, b.org, b.run, b.changes, append([]adsync.Link{link("org-a", "user-new", 7)}, b.links...))
		require.Error(t, err, b.name)
	}
	got := allChanges(t, s, "org-a", adsync.ChangeFilter{})
	require.Len(t, got, 1, "a refused call writes no record")
	requireLinks(t, s, "org-a", []adsync.Link{l}, "a refused call writes no link")

	for _, c := range []struct {
		name string
		run  int64
	}{{"a run never issued", rb.ID + 100}, {"another organization's run", rb.ID}} {
		err := s.PutChanges(ctx, "org-a", c.run, []adsync.ChangeRecord{{Seq: 5}}, nil)
		require.ErrorIs(t, err, adsync.ErrNotFound, c.name)
	}
}

func testChangesPrune(t *testing.T, s adsync.HistoryStore) {
	ctx := t.Context()
	var runs []adsync.Run
	other := startRun(t, s, "org-b", t0)
	require.NoError(t, s.PutChanges(ctx, "org-b", other.ID, []adsync.ChangeRecord{{Seq: 0, Outcome: adsync.OutcomeWritten}}, nil))
	for i := range adsync.KeepRuns + 2 {
		r := startRun(t, s, "org-a", at(time.Duration(i)*time.Hour))
		rec := fullChange(0)
		rec.OrgID = ""
		require.NoError(t, s.PutChanges(ctx, "org-a", r.ID, []adsync.ChangeRecord{rec}, nil))
		runs = append(runs, finish(t, s, r, adsync.StatusSucceeded, at(time.Duration(i)*time.Hour+time.Minute)))
	}
	got := allChanges(t, s, "org-a", adsync.ChangeFilter{})
	require.Len(t, got, adsync.KeepRuns, "one record per kept run")
	require.Equal(t, runs[2].ID, got[0].RunID, "the two oldest runs' records are gone")
	for _, r := range runs[:2] {
		page, err := s.Changes(ctx, "org-a", adsync.ChangeFilter{RunID: r.ID})
		require.NoError(t, err)
		require.Empty(t, page, "records of pruned run %d", r.ID)
	}
	ob, err := s.Changes(ctx, "org-b", adsync.ChangeFilter{})
	require.NoError(t, err)
	require.Len(t, ob, 1, "another organization's log is untouched")
}

func testChangePages(t *testing.T, s adsync.HistoryStore) {
	ctx := t.Context()
	kinds := adsync.ChangeKinds()
	var want []adsync.ChangeRecord
	for range 2 {
		r := startRun(t, s, "org-a", t0)
		var recs []adsync.ChangeRecord
		for seq := range 12 {
			recs = append(recs, adsync.ChangeRecord{Seq: seq, Change: adsync.Change{Kind: kinds[seq%len(kinds)], Rule: "R-X",
				UserID: fmt.Sprintf("u%d", seq%4), User: "u", ContactID: int64(100 + seq%3)}, Outcome: adsync.OutcomeWritten, At: t0})
		}
		require.NoError(t, s.PutChanges(ctx, "org-a", r.ID, recs, nil))
		for _, c := range recs {
			c.OrgID, c.RunID = "org-a", r.ID
			want = append(want, c)
		}
		rb := startRun(t, s, "org-b", t0)
		require.NoError(t, s.PutChanges(ctx, "org-b", rb.ID, recs[:3], nil))
	}
	for _, f := range []adsync.ChangeFilter{
		{Limit: 5}, {Limit: 1}, {},
		{RunID: want[0].RunID, Limit: 5}, {RunID: want[12].RunID, Limit: 4},
		{UserID: "u1", Limit: 2}, {ContactID: 101, Limit: 3}, {Kind: adsync.ChangeUpdate, Limit: 2}, {Kind: adsync.ChangeUnlink, Limit: 1},
		{UserID: "u2", Kind: adsync.ChangeUpdate, ContactID: 102, RunID: want[12].RunID},
		{AfterRun: want[0].RunID, AfterSeq: 10, Limit: 3},
	} {
		var exp []adsync.ChangeRecord
		for _, c := range want {
			if f.Match(&c) {
				exp = append(exp, c)
			}
		}
		got := allChanges(t, s, "org-a", f)
		require.Equal(t, len(exp), len(got), "filter %+v", f)
		for i := range exp {
			require.Equal(t, normChange(exp[i]), normChange(got[i]), "filter %+v, record %d", f, i)
		}
	}
}

func testManyChanges(t *testing.T, s adsync.HistoryStore) {
	const n = 20_000
	ctx := t.Context()
	r := startRun(t, s, "org-a", t0)
	for lo := 0; lo < n; lo += adsync.MaxPageSize {
		var batch []adsync.ChangeRecord
		for seq := lo; seq < lo+adsync.MaxPageSize; seq++ {
			batch = append(batch, adsync.ChangeRecord{Seq: seq, Change: adsync.Change{Kind: adsync.ChangeCreate, Rule: "R-MATCH-5",
				UserID: fmt.Sprintf("user-%06d", seq), User: "New User",
				Fields: []adsync.FieldChange{{Field: adsync.FirstName, After: "New"}, {Field: adsync.LastName, After: "User"}}},
				Outcome: adsync.OutcomeUnknown, At: t0})
		}
		require.NoError(t, s.PutChanges(ctx, "org-a", r.ID, batch, nil))
		for i := range batch {
			batch[i].Outcome, batch[i].ContactID = adsync.OutcomeWritten, int64(batch[i].Seq+1)
		}
		require.NoError(t, s.PutChanges(ctx, "org-a", r.ID, batch, nil))
	}
	got := allChanges(t, s, "org-a", adsync.ChangeFilter{RunID: r.ID, Limit: adsync.MaxChangePage})
	require.Len(t, got, n)
	for i, c := range got {
		if c.Seq != i || c.Outcome != adsync.OutcomeWritten || c.ContactID != int64(i+1) || c.User != "New User" || len(c.Fields) != 2 {
			t.Fatalf("record %d: seq %d, outcome %s, contact %d", i, c.Seq, c.Outcome, c.ContactID)
		}
	}
}

func testPutOutcomes(t *testing.T, s adsync.HistoryStore) {
	ctx := t.Context()
	r := startRun(t, s, "org-a", t0)
	other := startRun(t, s, "org-a", t0)
	pending := func(seq int, o adsync.Outcome) adsync.ChangeRecord {
		rec := fullChange(seq)
		rec.OrgID, rec.Outcome, rec.Error, rec.At = "", o, "", t0
		return rec
	}
	// Seqs 0-5 logged before their writes; 3 already failed; 6 pending
	// outside the range; the other run's seq 1 pending.
	var recs []adsync.ChangeRecord
	for seq := range 7 {
		o := adsync.OutcomeUnknown
		if seq == 3 {
			o = adsync.OutcomeFailed
		}
		recs = append(recs, pending(seq, o))
	}
	require.NoError(t, s.PutChanges(ctx, "org-a", r.ID, recs, nil))
	require.NoError(t, s.PutChanges(ctx, "org-a", other.ID, []adsync.ChangeRecord{pending(1, adsync.OutcomeUnknown)}, nil))

	before := allChanges(t, s, "org-a", adsync.ChangeFilter{})
	bad := []struct {
		name  string
		w     adsync.Written
		recs  []adsync.ChangeRecord
		links []adsync.Link
	}{
		{"a negative From", adsync.Written{From: -1, To: 2, At: t0}, nil, nil},
		{"To before From", adsync.Written{From: 3, To: 2, At: t0}, nil, nil},
		{"a record of another organization", adsync.Written{From: 0, To: 6, At: t0}, []adsync.ChangeRecord{{OrgID: "org-b", Seq: 9}}, nil},
		{"a link of another organization", adsync.Written{From: 0, To: 6, At: t0}, nil, []adsync.Link{link("org-b", "user-x", 6)}},
	}
	for _, b := range bad {
		err := s.PutOutcomes(ctx, "org-a", r.ID, b.w, b.recs, append([]adsync.Link{link("org-a", "user-new", 7)}, b.links...))
		require.Error(t, err, b.name)
	}
	require.Equal(t, before, allChanges(t, s, "org-a", adsync.ChangeFilter{}), "a refused call changes no record")
	requireLinks(t, s, "org-a", nil, "a refused call writes no link")
	for _, c := range []struct {
		name string
		run  int64
	}{{"a run never issued", other.ID + 100}, {"another organization's run", startRun(t, s, "org-b", t0).ID}} {
		err := s.PutOutcomes(ctx, "org-a", c.run, adsync.Written{From: 0, To: 1, At: t0}, nil, nil)
		require.ErrorIs(t, err, adsync.ErrNotFound, c.name)
	}

	// Seq 1's answer was lost (stays unknown, with its error); seq 4 was
	// stopped; seq 7, a create, is logged once now; the rest of 0-5 were
	// written.
	lost := pending(1, adsync.OutcomeUnknown)
	lost.Error, lost.At = "outcome of the write is unknown: timeout", at(3*time.Second)
	stopped := pending(4, adsync.OutcomeStopped)
	create := pending(7, adsync.OutcomeWritten)
	create.Kind, create.ContactID = adsync.ChangeCreate, 99
	l := link("org-a", "user-l", 5)
	w := adsync.Written{From: 0, To: 6, At: at(3 * time.Second)}
	require.NoError(t, s.PutOutcomes(ctx, "org-a", r.ID, w, []adsync.ChangeRecord{lost, stopped, create}, []adsync.Link{l}))
	requireLinks(t, s, "org-a", []adsync.Link{l}, "links put with the outcomes")

	got := allChanges(t, s, "org-a", adsync.ChangeFilter{RunID: r.ID})
	require.Len(t, got, 8)
	for _, c := range got {
		want := pending(c.Seq, adsync.OutcomeUnknown)
		want.OrgID, want.RunID = "org-a", r.ID
		switch c.Seq {
		case 0, 2, 5:
			want.Outcome, want.At = adsync.OutcomeWritten, w.At
		case 1:
			want = lost
		case 3:
			want.Outcome = adsync.OutcomeFailed
		case 4:
			want = stopped
		case 7:
			want = create
		}
		want.OrgID, want.RunID = "org-a", r.ID
		require.Equal(t, normChange(want), normChange(c), "record %d", c.Seq)
	}
	o := allChanges(t, s, "org-a", adsync.ChangeFilter{RunID: other.ID})
	require.Len(t, o, 1)
	require.Equal(t, adsync.OutcomeUnknown, o[0].Outcome, "another run's record is untouched")

	// The zero range marks nothing.
	require.NoError(t, s.PutOutcomes(ctx, "org-a", r.ID, adsync.Written{}, nil, nil))
	require.Equal(t, got, allChanges(t, s, "org-a", adsync.ChangeFilter{RunID: r.ID}))

	// A record put unknown again after the range was marked stays unknown
	// until a later range marks it, with that range's time.
	require.NoError(t, s.PutChanges(ctx, "org-a", r.ID, []adsync.ChangeRecord{pending(2, adsync.OutcomeUnknown)}, nil))
	again := allChanges(t, s, "org-a", adsync.ChangeFilter{RunID: r.ID})
	require.Equal(t, adsync.OutcomeUnknown, again[2].Outcome, "put after the mark: not marked by it")
	require.Equal(t, adsync.OutcomeWritten, again[0].Outcome, "the other records keep their outcome")
	later := adsync.Written{From: 2, To: 3, At: at(5 * time.Second)}
	require.NoError(t, s.PutOutcomes(ctx, "org-a", r.ID, later, nil, nil))
	again = allChanges(t, s, "org-a", adsync.ChangeFilter{RunID: r.ID})
	require.Equal(t, adsync.OutcomeWritten, again[2].Outcome)
	require.True(t, later.At.Equal(again[2].At), "At %v, want the later range's %v", again[2].At, later.At)
	require.Equal(t, adsync.OutcomeUnknown, again[1].Outcome, "outside the later range")
}
