package console_test

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync"
)

var applyUndoRE = regexp.MustCompile(`action="(/org/northwind/plan/[^"]+/apply)"><input type="hidden" name="csrf" value="[^"]+"><button type="submit" class="primary" id="apply-undo"`)

func TestUndo(t *testing.T) {
	f, s, c := signedIn(t)
	ctx := context.Background()
	f.dirs["northwind"].Add(person("northwind", 50))
	c.get("/org/northwind")
	code, _ := c.post("/org/northwind/sync", nil)
	require.Equal(t, http.StatusOK, code)
	synced := lastRun(t, f, "northwind")
	runURL := "/org/northwind/run/" + strconv.FormatInt(synced, 10)

	_, body := c.get(runURL)
	assert.Contains(t, body, `action="`+runURL+`/undo"`, "a finished run offers Undo")
	code, body = c.post(runURL+"/undo", nil)
	require.Equal(t, http.StatusOK, code, text(body))
	assert.Contains(t, body, "<h1>Undo of run "+strconv.FormatInt(synced, 10)+" of Northwind Traders</h1>")
	assert.Contains(t, text(body), "undo of run "+strconv.FormatInt(synced, 10)+": 0 to update, 0 to reactivate, 1 to deactivate, 0 held")
	assert.Contains(t, text(body), "× deactivate Anna Nowak <user050@northwind.example>", "the plan as a readable diff")
	assert.Contains(t, text(body), "[undo:R-MATCH-5] Field Before After isActive 1 0")
	assert.Regexp(t, `isActive 1 0 link of user \S+ contact \d+ dropped`, text(body), "the link the undo drops, kept in its change log")
	apply := applyUndoRE.FindStringSubmatch(body)
	require.NotNil(t, apply, "Apply undo")

	code, body = c.post(apply[1], nil)
	require.Equal(t, http.StatusOK, code)
	undone := lastRun(t, f, "northwind")
	assert.Contains(t, text(body), "Undo of run "+strconv.FormatInt(synced, 10)+": run "+strconv.FormatInt(undone, 10)+" succeeded")
	run, err := f.hist.Run(ctx, "northwind", undone)
	require.NoError(t, err)
	assert.Equal(t, adsync.TriggerUndo, run.Trigger)
	assert.Equal(t, synced, run.UndoneRun)
	assert.Equal(t, "admin", run.By, "who undid it, in the history")
	assert.Equal(t, 1, run.Counts.Deactivated)
	assert.Contains(t, text(body), "undo of "+strconv.FormatInt(synced, 10)+" admin", "the runs table: trigger and who")
	_, body = c.get("/org/northwind/run/" + strconv.FormatInt(undone, 10))
	assert.Contains(t, text(body), "undo by admin (undoes run "+strconv.FormatInt(synced, 10))
	assert.Contains(t, s.log.String(), `user=admin action="plan undo" org=northwind`)

	t.Run("an undo with nothing to undo cannot be applied", func(t *testing.T) {
		var org adsync.Org
		for _, o := range f.orgs {
			if o.Config.ID == "northwind" {
				org = o
			}
		}
		_, err := f.syncer.Sync(ctx, org, adsync.TriggerForced) // back to the directory after the undo
		require.NoError(t, err)
		run, err := f.syncer.Sync(ctx, org, adsync.TriggerForced)
		require.NoError(t, err)
		require.Zero(t, run.Counts.Writes(), "nothing changed: the run wrote nothing")
		code, body := c.post("/org/northwind/run/"+strconv.FormatInt(run.ID, 10)+"/undo", nil)
		require.Equal(t, http.StatusOK, code, text(body))
		assert.Contains(t, body, `id="apply-undo" disabled`, "an empty undo would only record a run")
		assert.Contains(t, text(body), "Nothing to undo")
	})
	t.Run("who started a run survives a restart", func(t *testing.T) {
		c2 := serve(t, f, nil).client(t)
		c2.login()
		_, body := c2.get("/org/northwind")
		assert.Regexp(t, `<a href="/org/northwind/run/`+strconv.FormatInt(synced, 10)+`">\d+</a></th><td>forced</td><td>admin</td>`, body)
	})
	t.Run("a stale undo plan is refused", func(t *testing.T) {
		c.get(runURL)
		_, body := c.post(runURL+"/undo", nil)
		apply := applyUndoRE.FindStringSubmatch(body)
		require.NotNil(t, apply)
		code, _ := c.post("/org/northwind/sync", nil)
		require.Equal(t, http.StatusOK, code)
		code, body = c.post(apply[1], nil)
		assert.Equal(t, http.StatusConflict, code)
		assert.Contains(t, text(body), "This plan is stale")
		assert.Contains(t, text(body), "plan the undo again")
	})
	t.Run("a run no longer kept is refused", func(t *testing.T) {
		code, body := c.post("/org/northwind/run/999999/undo", nil)
		assert.Equal(t, http.StatusNotFound, code)
		assert.Contains(t, text(body), "Run 999999 is no longer kept: the history keeps the newest 10 runs")
	})
	t.Run("a disabled organization offers no undo", func(t *testing.T) {
		code, body := c.post("/org/fabrikam/run/1/undo", nil)
		assert.Equal(t, http.StatusConflict, code)
		assert.Contains(t, text(body), "The organization is disabled")
	})
	t.Run("without the CSRF token", func(t *testing.T) {
		code, _ := c.post(runURL+"/undo", map[string][]string{"csrf": {"wrong"}})
		assert.Equal(t, http.StatusForbidden, code)
	})
}
