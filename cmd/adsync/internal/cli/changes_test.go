package cli

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/history/postgres/pgtest"
)

// TestChangesAndUndo: history lists a run's changes and a contact's or
// user's changes across runs; undo prints the inverse plan and writes it
// only with --apply; on the default SQLite store and on PostgreSQL.
func TestChangesAndUndo(t *testing.T) {
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			w := newCLIWorld(t, 6)
			if store == "postgres" {
				w.inv.env["ADSYNC_STORE"] = "postgres:" + pgtest.DSN(t) // skips without ADSYNC_PG_DSN
			}
			r := w.run(t, "sync")
			require.Equal(t, ExitOK, r.code, r.stderr)
			u, ok := w.graph.User(w.users[4])
			require.True(t, ok)
			u.JobTitle = "Senior Engineer"
			w.graph.PutUser(u)
			w.graph.RemoveMember(cliGroup, w.users[5])
			r = w.run(t, "sync")
			require.Equal(t, ExitOK, r.code, r.stderr)
			require.Contains(t, r.stdout, "updated 1, reactivated 0, deactivated 1")

			r = w.run(t, "history", "--org", "contoso", "--run", "2")
			require.Equal(t, ExitOK, r.code, r.stderr)
			golden(t, "history-run", w.norm(r.stdout))

			r = w.run(t, "history", "--org", "contoso", "--run", "2", "--kind", "update", "--json")
			require.Equal(t, ExitOK, r.code, r.stderr)
			var recs []changeJSON
			require.NoError(t, json.Unmarshal([]byte(r.stdout), &recs))
			require.Len(t, recs, 1)
			assert.Equal(t, adsync.FieldChange{Field: adsync.Title, Before: "Engineer", After: "Senior Engineer"}, recs[0].Fields[0])
			assert.Equal(t, adsync.TriggerForced, recs[0].RunTrigger)
			contact := recs[0].ContactID

			// "Why did this contact change?"
			for _, args := range [][]string{{"--user", w.users[4]}, {"--contact", fmt.Sprint(contact)}} {
				r = w.run(t, append([]string{"history", "--org", "contoso"}, args...)...)
				require.Equal(t, ExitOK, r.code, r.stderr)
				assert.Contains(t, r.stdout, "run 1, ")
				assert.Contains(t, r.stdout, "written + create")
				assert.Contains(t, r.stdout, "run 2, ")
				assert.Contains(t, r.stdout, `title: "Engineer" → "Senior Engineer"`)
				assert.Contains(t, r.stdout, "2 changes")
			}

			writes := w.writes()
			r = w.run(t, "undo", "--org", "contoso", "--run", "2")
			require.Equal(t, ExitOK, r.code, r.stderr)
			golden(t, "undo", w.norm(r.stdout))
			assert.Equal(t, writes, w.writes(), "without --apply nothing is written")

			r = w.run(t, "undo", "--org", "contoso", "--run", "2", "--apply")
			require.Equal(t, ExitOK, r.code, r.stderr)
			assert.Contains(t, r.stdout, "run 3 (undo) succeeded")
			assert.Contains(t, r.stdout, "updated 1, reactivated 1")
			assert.Equal(t, writes+2, w.writes())
			r = w.run(t, "history", "--org", "contoso", "--run", "3")
			require.Equal(t, ExitOK, r.code, r.stderr)
			assert.Contains(t, r.stdout, `title: "Senior Engineer" → "Engineer"`)

			for _, c := range []struct {
				args []string
				code int
				msg  string
			}{
				{[]string{"undo", "--org", "contoso", "--run", "99"}, ExitFailed, "keeps the newest 10 runs"},
				{[]string{"undo", "--org", "contoso"}, ExitUsage, "--run N"},
				{[]string{"history", "--org", "contoso", "--run", "99"}, ExitFailed, "not in the history"},
				{[]string{"history", "--org", "contoso", "--kind", "delete"}, ExitUsage, "want one of create"},
			} {
				r = w.run(t, c.args...)
				assert.Equal(t, c.code, r.code, "%v: %s", c.args, r.stderr)
				assert.Contains(t, r.stderr, c.msg, c.args)
			}
		})
	}
}
