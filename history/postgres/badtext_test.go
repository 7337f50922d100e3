package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/history/historytest"
	"github.com/psasync/adsync/history/internal/record"
)

// The contract hands stores valid UTF-8 without NUL (the Syncer cleans the
// directory's values, #10 point 6). PostgreSQL refuses anything else; a
// store given it anyway returns an error at once, naming the problem, and
// stays usable: no hang, no broken connection.
func TestBadTextIsAnError(t *testing.T) {
	s := open(t, freshSchema(t))
	const nul, invalid = "a\x00b", "Mu\xfcller"
	run := func(text string) adsync.Run {
		return adsync.Run{OrgID: "org", Status: adsync.StatusRunning, Started: time.Now(), Error: text,
			Warnings: []adsync.Warning{{Rule: "R-FIELD-4", Message: text}}}
	}
	linkWith := func(user, value string) []adsync.Link {
		l := historytest.ManyLinks("org", 1)[0]
		l.UserID, l.Written = user, map[adsync.Field]string{adsync.LastName: value}
		return []adsync.Link{l}
	}
	for _, text := range []string{nul, invalid} {
		for _, tc := range []struct {
			name string
			call func(ctx context.Context) error
		}{
			{"StartRun", func(ctx context.Context) error { _, err := s.StartRun(ctx, run(text)); return err }},
			{"FinishRun", func(ctx context.Context) error {
				r, err := s.StartRun(ctx, run("ok"))
				require.NoError(t, err)
				r.Status, r.Error = adsync.StatusFailed, text
				return s.FinishRun(ctx, r)
			}},
			{"PutLinks (user id)", func(ctx context.Context) error { return s.PutLinks(ctx, "org", linkWith("u"+text, "ok")) }},
			{"PutLinks (written value)", func(ctx context.Context) error { return s.PutLinks(ctx, "org", linkWith("u", text)) }},
			{"PutLinks (large call)", func(ctx context.Context) error {
				links := historytest.ManyLinks("org", 25_000)
				links[12_345].Written[adsync.LastName] = text
				return s.PutLinks(ctx, "org", links)
			}},
			{"ReplaceConflicts", func(ctx context.Context) error {
				return s.ReplaceConflicts(ctx, "org", []adsync.Conflict{{UserID: "u", User: text, Kind: adsync.ConflictDuplicateName}})
			}},
			{"PutResolution", func(ctx context.Context) error {
				return s.PutResolution(ctx, adsync.Resolution{OrgID: "org", UserID: "u", Action: adsync.ResolveIgnore, By: text})
			}},
		} {
			t.Run(tc.name+"/"+map[string]string{nul: "NUL", invalid: "invalid UTF-8"}[text], func(t *testing.T) {
				ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
				defer cancel()
				err := tc.call(ctx)
				require.Error(t, err)
				require.NoError(t, ctx.Err(), "the call returned at once, not at the deadline")
				require.NotErrorIs(t, err, adsync.ErrUnavailable, "bad text is not an outage")
				require.Contains(t, err.Error(), "not valid UTF-8 without NUL")
				// The store is still usable.
				require.NoError(t, s.PutLinks(ctx, "org", linkWith("u", "ok")))
			})
		}
	}
	links, err := s.Links(t.Context(), "org")
	require.NoError(t, err)
	require.Len(t, links, 1, "no bad link was stored")
}

// PostgreSQL indexes keys of at most 2,704 bytes: a longer user or
// organization id (a store limit, #10 point 8) is an error saying so, at
// once, and nothing is stored.
func TestLongKeyIsAnError(t *testing.T) {
	s := open(t, freshSchema(t))
	var ids []string // random GUIDs: 4,320 bytes that do not compress much
	for _, l := range historytest.ManyLinks("org", 120) {
		ids = append(ids, l.UserID)
	}
	long := strings.Join(ids, "")
	l := historytest.ManyLinks("org", 1)[0]
	l.UserID = long
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	err := s.PutLinks(ctx, "org", []adsync.Link{l})
	require.ErrorIs(t, err, record.ErrInvalid)
	require.Contains(t, err.Error(), "longer than PostgreSQL can index")
	_, err = s.StartRun(ctx, adsync.Run{OrgID: long, Status: adsync.StatusRunning})
	require.ErrorIs(t, err, record.ErrInvalid)
	links, err := s.Links(ctx, "org")
	require.NoError(t, err)
	require.Empty(t, links)
}
