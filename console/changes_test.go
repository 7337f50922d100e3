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
	"github.com/psasync/adsync/console"
)

// runIDs returns the organization's kept runs, newest first.
func runIDs(t *testing.T, f *fixture, org string) []int64 {
	t.Helper()
	runs, err := f.hist.Runs(context.Background(), org, adsync.KeepRuns)
	require.NoError(t, err)
	ids := make([]int64, len(runs))
	for i, r := range runs {
		ids[i] = r.ID
	}
	return ids
}

func TestRunChangeLog(t *testing.T) {
	f, _, c := signedIn(t)
	ctx := context.Background()
	// A run of more than a page of changes: 230 new users, and one title
	// changed of a user already synced.
	for i := range 230 {
		u := person("northwind", 200+i)
		u.Values[adsync.LastName] = "Bulk" + strconv.Itoa(i)
		u.Name = u.Values[adsync.FirstName] + " " + u.Values[adsync.LastName]
		f.dirs["northwind"].Add(u)
	}
	first := "00000000-0000-0000-0000-000000000001"
	u, ok := f.dirs["northwind"].User(first)
	require.True(t, ok)
	u.Values[adsync.Title] = "Director <b>"
	require.NoError(t, f.dirs["northwind"].Update(first, adsync.NewFieldSet(adsync.Title), u.Values))
	run, err := f.syncer.Sync(ctx, f.org("northwind"), adsync.TriggerScheduled)
	require.NoError(t, err)
	runURL := "/org/northwind/run/" + strconv.FormatInt(run.ID, 10)

	_, org := c.get("/org/northwind")
	assert.Contains(t, org, `href="`+runURL+`"`, "the organization page links the run")

	code, body := c.get(runURL)
	require.Equal(t, http.StatusOK, code)
	page := text(body)
	assert.Contains(t, page, "Changes 1–200 of 231.")
	assert.Contains(t, body, `href="`+runURL+`?page=2"`, "next page")
	assert.NotContains(t, body, `rel="prev"`)
	assert.Contains(t, page, "update Anna Schmidt")
	assert.Contains(t, page, "title : Engineer → Director <b>", "the field's before and after")
	assert.Contains(t, body, "Director &lt;b&gt;", "escaped")
	assert.Contains(t, page, "R-FIELD-3 written")
	assert.Contains(t, page, "written")

	_, body = c.get(runURL + "?page=2")
	page = text(body)
	assert.Contains(t, page, "Changes 201–231 of 231.")
	assert.Contains(t, body, `href="`+runURL+`"`)
	assert.Contains(t, body, `rel="prev"`)
	assert.NotContains(t, body, `rel="next"`)

	t.Run("filter by kind", func(t *testing.T) {
		_, body := c.get(runURL + "?kind=update")
		page := text(body)
		assert.Contains(t, page, "Changes 1–1 of 1 (update).")
		assert.NotContains(t, page, "create user")
		_, body = c.get(runURL + "?kind=deactivate")
		assert.Contains(t, text(body), "No change of kind deactivate recorded.")
		code, body := c.get(runURL + "?kind=delete")
		assert.Equal(t, http.StatusBadRequest, code)
		assert.Contains(t, text(body), `Kind "delete" is not a kind of change: choose one of create, link, reactivate, update, deactivate, unlink.`)
		code, body = c.get(runURL + "?page=0")
		assert.Equal(t, http.StatusBadRequest, code)
		assert.Contains(t, text(body), `Page "0" is not a page number`)
	})

	t.Run("every change to a contact, from the change rows", func(t *testing.T) {
		_, body := c.get(runURL + "?kind=update")
		m := regexp.MustCompile(`href="(/org/northwind/changes\?contact=(\d+))"`).FindStringSubmatch(body)
		require.NotNil(t, m, "the contact links to its changes")
		_, body = c.get(m[1])
		page := text(body)
		assert.Contains(t, page, "Changes to Anna Schmidt <user000@northwind.example> (contact "+m[2]+")")
		assert.Contains(t, page, "Changes 1–2 of 2.", "created by the first run, updated by the last")
		ids := runIDs(t, f, "northwind")
		assert.Contains(t, body, `href="/org/northwind/run/`+strconv.FormatInt(ids[len(ids)-1], 10)+`"`)
		assert.Contains(t, body, `href="`+runURL+`"`)

		_, body = c.get(m[1] + "&kind=update")
		assert.Contains(t, text(body), "Changes 1–1 of 1 (update).", "the kind filter on a contact's changes")
		assert.Contains(t, body, `<input type="hidden" name="contact" value="`+m[2]+`">`, "the kind filter keeps the contact")

		mu := regexp.MustCompile(`href="(/org/northwind/changes\?user=[^"]+)"`).FindStringSubmatch(body)
		require.NotNil(t, mu, "the user links to their changes")
		_, body = c.get(mu[1])
		assert.Contains(t, text(body), "Changes for user Anna Schmidt <user000@northwind.example> ("+first+")")
		assert.Contains(t, text(body), "Changes 1–2 of 2.")
	})

	t.Run("a page past the end", func(t *testing.T) {
		_, body := c.get(runURL + "?page=9")
		assert.Contains(t, text(body), "No change on this page: there are 231.")
		assert.Contains(t, body, `href="`+runURL+`?page=2" rel="prev"`)
	})
	t.Run("bad contact", func(t *testing.T) {
		code, body := c.get("/org/northwind/changes?contact=x")
		assert.Equal(t, http.StatusBadRequest, code)
		assert.Contains(t, text(body), `Contact "x" is not a contact id`)
	})
	t.Run("a run not kept", func(t *testing.T) {
		code, body := c.get("/org/northwind/run/999")
		assert.Equal(t, http.StatusNotFound, code)
		assert.Contains(t, text(body), "is not in the history")
	})
	assert.Equal(t, 200, console.ChangesPerPage)
}
