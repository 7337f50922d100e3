package historytest

import (
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/internal/conform"
)

// Texts are the values the text tests store: every character a store must
// keep (valid UTF-8 without NUL, the contract's text), including those that
// JSON, SQL or a terminal treat specially, in short and long strings.
func Texts() []string {
	var ascii strings.Builder
	for r := rune(1); r < utf8.RuneSelf; r++ {
		ascii.WriteRune(r)
	}
	// Every code point of the first two UTF-8 lengths, then a sample of
	// the rest (surrogates are not valid UTF-8).
	var wide strings.Builder
	for r := rune(utf8.RuneSelf); r <= utf8.MaxRune; r++ {
		if r < 0x800 || r%251 == 0 || r == utf8.MaxRune {
			if utf8.ValidRune(r) {
				wide.WriteRune(r)
			}
		}
	}
	return []string{
		ascii.String(),
		wide.String(),
		"Zoë Ångström-Øre, Müller (Straße 7), Łódź",
		"田中 太郎 · Ιωάννης · Иван · שלום · مرحبا · 👩‍👩‍👧 · e\u0301 · \u200d\u200b",
		"\u2028\u2029\ufeff\ufffd\ufffe\uffff\U0010ffff",
		`\u0000 \x00 %00 "quoted" 'single' back\slash {"json": [1]} -- ; DROP TABLE links; /* */`,
		" leading and trailing spaces \t\r\n",
		strings.Repeat("Ünïcödé ✓ 𝄞 ", 4000), // about 70 KB
	}
}

// shortTexts are the texts short enough for a key (a user id).
func shortTexts() []string {
	var out []string
	for _, s := range Texts() {
		if len(s) <= 256 {
			out = append(out, s)
		}
	}
	return out
}

const ruleText = "HistoryStore: text is valid UTF-8 without NUL and is stored and returned byte for byte, in every text of a link, run, conflict and resolution, whatever its length"

// checkText reports each text that came back changed.
func checkText(t *testing.T, what, want, got string) {
	t.Helper()
	if want != got {
		n := 0
		for n < len(want) && n < len(got) && want[n] == got[n] {
			n++
		}
		conform.Broken(t, ruleText, "%s: %d bytes came back as %d bytes, first difference at byte %d", what, len(want), len(got), n)
	}
}

func testText(t *testing.T, s adsync.HistoryStore) {
	ctx := t.Context()
	texts, keys := Texts(), shortTexts()
	pick := func(i int) string { return texts[i%len(texts)] }

	// Links: every text as a written value, the short ones as user ids.
	var links []adsync.Link
	for i, key := range keys {
		l := link("org-a", key, int64(i+1))
		l.Written = map[adsync.Field]string{}
		for f := adsync.Field(0); f < adsync.NumFields; f++ {
			l.Written[f] = pick(i + int(f))
		}
		links = append(links, l)
	}
	conform.Must(t, s.PutLinks(ctx, "org-a", links), "PutLinks of links with every text")
	got, err := s.Links(ctx, "org-a")
	conform.Must(t, err, "Links")
	matchByUser(t, "link", links, got, func(l adsync.Link) string { return l.UserID }, func(want, got adsync.Link) {
		for f, v := range want.Written {
			checkText(t, "link "+want.UserID+", written "+f.String(), v, got.Written[f])
		}
	})

	// A run: its error, cursor and the texts of its lists.
	r := adsync.Run{OrgID: "org-a", Status: adsync.StatusRunning, Started: t0, Error: pick(0), Cursor: pick(1)}
	for i, text := range texts {
		r.Warnings = append(r.Warnings, adsync.Warning{UserID: keys[i%len(keys)], Field: "title", Rule: "R-FIELD-4", Message: text})
		r.Skips = append(r.Skips, adsync.Skip{UserID: keys[i%len(keys)], User: text, Rule: "R-FIELD-5", Reason: pick(i + 1)})
		r.Failures = append(r.Failures, adsync.WriteFailure{UserID: keys[i%len(keys)], ContactID: int64(i), Kind: adsync.ChangeUpdate, Error: text})
		r.Held = append(r.Held, adsync.HeldDeactivation{UserID: keys[i%len(keys)], ContactID: int64(i), Contact: text})
	}
	started, err := s.StartRun(ctx, r)
	conform.Must(t, err, "StartRun of a run with every text")
	r.ID = started.ID
	r.Status, r.Ended, r.Error = adsync.StatusFailed, at(time.Minute), pick(2)
	conform.Must(t, s.FinishRun(ctx, r), "FinishRun of a run with every text")
	gotRun, err := s.Run(ctx, "org-a", r.ID)
	conform.Must(t, err, "Run")
	checkText(t, "run error", r.Error, gotRun.Error)
	checkText(t, "run cursor", r.Cursor, gotRun.Cursor)
	if len(gotRun.Warnings) != len(r.Warnings) || len(gotRun.Skips) != len(r.Skips) ||
		len(gotRun.Failures) != len(r.Failures) || len(gotRun.Held) != len(r.Held) {
		conform.Fatal(t, ruleText, "the run's lists came back with other lengths")
	}
	for i := range r.Warnings {
		checkText(t, "run warning message", r.Warnings[i].Message, gotRun.Warnings[i].Message)
		checkText(t, "run warning user id", r.Warnings[i].UserID, gotRun.Warnings[i].UserID)
		checkText(t, "run skip label", r.Skips[i].User, gotRun.Skips[i].User)
		checkText(t, "run skip reason", r.Skips[i].Reason, gotRun.Skips[i].Reason)
		checkText(t, "run failure error", r.Failures[i].Error, gotRun.Failures[i].Error)
		checkText(t, "run held contact", r.Held[i].Contact, gotRun.Held[i].Contact)
	}

	// Conflicts and resolutions.
	var (
		cs []adsync.Conflict
		rs []adsync.Resolution
	)
	for i, key := range keys {
		c := conflict("org-a", key, adsync.ConflictDuplicateName, t0)
		c.User, c.Detail, c.OtherUsers = pick(i), pick(i+1), keys
		cs = append(cs, c)
		r := adsync.Resolution{OrgID: "org-a", UserID: key, Action: adsync.ResolveIgnore, By: pick(i + 2), CreatedAt: t0}
		conform.Must(t, s.PutResolution(ctx, r), "PutResolution with every text")
		rs = append(rs, r)
	}
	conform.Must(t, s.ReplaceConflicts(ctx, "org-a", cs), "ReplaceConflicts with every text")
	gotCs, err := s.Conflicts(ctx, "org-a")
	conform.Must(t, err, "Conflicts")
	matchByUser(t, "conflict", cs, gotCs, func(c adsync.Conflict) string { return c.UserID }, func(want, got adsync.Conflict) {
		checkText(t, "conflict label", want.User, got.User)
		checkText(t, "conflict detail", want.Detail, got.Detail)
		if !slices.Equal(want.OtherUsers, got.OtherUsers) {
			conform.Broken(t, ruleText, "conflict of user id %q: other users %q, want %q", want.UserID, got.OtherUsers, want.OtherUsers)
		}
	})
	gotRs, err := s.Resolutions(ctx, "org-a")
	conform.Must(t, err, "Resolutions")
	matchByUser(t, "resolution", rs, gotRs, func(r adsync.Resolution) string { return r.UserID }, func(want, got adsync.Resolution) {
		checkText(t, "resolution by", want.By, got.By)
	})
}

// matchByUser calls check with each record wanted and the one got of the
// same user id, and reports those missing.
func matchByUser[T any](t *testing.T, what string, want, got []T, user func(T) string, check func(want, got T)) {
	t.Helper()
	byUser := make(map[string]T, len(got))
	for _, g := range got {
		byUser[user(g)] = g
	}
	for _, w := range want {
		g, ok := byUser[user(w)]
		if !ok {
			conform.Broken(t, ruleText, "the %s of user id %q is missing", what, user(w))
			continue
		}
		check(w, g)
	}
}
