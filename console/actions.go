package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/psasync/adsync"
)

// start runs an action (a sync, an approval, a plan applied) in the
// background and waits up to quickWait for it: a refusal comes back at once
// and is shown on the spot with a 409, a finished run redirects to the
// organization with its outcome, a longer run goes on and the organization
// page follows it.
func (c *Console) start(w http.ResponseWriter, r *http.Request, s *session, o adsync.Org, kind string,
	do func(ctx context.Context) (adsync.Run, error)) {
	id := o.Config.ID
	c.mu.Lock()
	if j := c.jobs[id]; j != nil {
		select {
		case <-j.done:
		default:
			c.mu.Unlock()
			c.messageBack(w, r, s, http.StatusConflict, "Refused",
				fmt.Sprintf("A run of this organization is in progress (%s, started by %s at %s): wait for it to finish, then try again.",
					j.kind, j.actor, when(j.started)), c.orgURL(id), o.Config.Name)
			return
		}
	}
	if c.opts.Syncer.Running(id) {
		c.mu.Unlock()
		c.messageBack(w, r, s, http.StatusConflict, "Refused",
			"A run of this organization is in progress: wait for it to finish, then try again.", c.orgURL(id), o.Config.Name)
		return
	}
	j := &job{kind: kind, actor: s.user, started: c.now(), done: make(chan struct{})}
	c.jobs[id] = j
	delete(c.progress, id)
	c.wg.Add(1)
	c.mu.Unlock()
	c.log.Info("console: action", "user", s.user, "action", kind, "org", id)

	go func() {
		defer c.wg.Done()
		// The run records who started it (Run.By), in the history.
		run, err := do(adsync.WithActor(c.opts.BaseContext, j.actor))
		c.mu.Lock()
		j.run, j.err = run, err
		close(j.done)
		c.mu.Unlock()
		if err != nil {
			c.log.Warn("console: action failed", "user", j.actor, "action", kind, "org", id, "run", run.ID, "error", err)
		} else {
			c.log.Info("console: action done", "user", j.actor, "action", kind, "org", id, "run", run.ID, "status", run.Status)
		}
	}()

	t := time.NewTimer(quickWait)
	defer t.Stop()
	select {
	case <-j.done:
		if j.err != nil && j.run.ID == 0 {
			// Refused before the run started: nothing was recorded.
			status, msg := refusal(j.err)
			c.messageBack(w, r, s, status, "Refused", msg, c.orgURL(id), o.Config.Name)
			return
		}
		c.sessions.setFlash(s, outcome(kind, j.run, j.err))
	case <-t.C:
		c.sessions.setFlash(s, kind+" started: this page follows it.")
	case <-r.Context().Done():
	}
	http.Redirect(w, r, c.orgURL(id), http.StatusSeeOther)
}

func outcome(kind string, run adsync.Run, err error) string {
	s := fmt.Sprintf("%s: run %d %s. %s", kind, run.ID, run.Status, run.Counts.String())
	if err != nil {
		_, msg := refusal(err)
		s += ". " + msg
	}
	return s
}

func (c *Console) syncNow(w http.ResponseWriter, r *http.Request, s *session) {
	o, ok := c.org(w, r, s)
	if !ok {
		return
	}
	syncer := c.opts.Syncer
	c.start(w, r, s, o, "Sync now", func(ctx context.Context) (adsync.Run, error) {
		return syncer.Sync(ctx, o, adsync.TriggerForced)
	})
}

func (c *Console) approve(w http.ResponseWriter, r *http.Request, s *session) {
	o, ok := c.org(w, r, s)
	if !ok {
		return
	}
	runID, err := strconv.ParseInt(r.PostForm.Get("run"), 10, 64)
	if err != nil || runID <= 0 {
		c.messageBack(w, r, s, http.StatusBadRequest, "Bad request", "The form names no run to approve.", c.orgURL(o.Config.ID), o.Config.Name)
		return
	}
	syncer := c.opts.Syncer
	c.start(w, r, s, o, "Approval of run "+strconv.FormatInt(runID, 10), func(ctx context.Context) (adsync.Run, error) {
		return syncer.Approve(ctx, o, runID)
	})
}

// preview makes a dry run and shows it; a disabled organization can be
// previewed too.
func (c *Console) preview(w http.ResponseWriter, r *http.Request, s *session) {
	o, ok := c.org(w, r, s)
	if !ok {
		return
	}
	c.log.Info("console: action", "user", s.user, "action", "preview", "org", o.Config.ID)
	p, err := c.opts.Syncer.Plan(r.Context(), o)
	if err != nil {
		status, msg := refusal(err)
		c.log.Warn("console: preview failed", "user", s.user, "org", o.Config.ID, "error", err)
		c.messageBack(w, r, s, status, "Preview failed", msg, c.orgURL(o.Config.ID), o.Config.Name)
		return
	}
	sp := &storedPlan{id: randomToken()[:16], orgID: o.Config.ID, plan: p, by: s.user, created: c.now()}
	c.keepPlan(sp)
	http.Redirect(w, r, c.orgURL(o.Config.ID)+"/plan/"+sp.id, http.StatusSeeOther)
}

// keepPlan keeps a plan to be shown and applied: one per organization, a
// plan of a large directory being large, and only the newest can be
// applied anyway (an older one is stale as soon as a run is recorded).
func (c *Console) keepPlan(sp *storedPlan) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, q := range c.plans {
		if q.orgID == sp.orgID {
			delete(c.plans, id)
		}
	}
	c.plans[sp.id] = sp
	for len(c.plans) > maxPlans {
		var oldest *storedPlan
		for _, q := range c.plans {
			if oldest == nil || q.created.Before(oldest.created) {
				oldest = q
			}
		}
		delete(c.plans, oldest.id)
	}
}

// undo plans the undo of a finished run and shows it, like a preview, to
// be applied as shown.
func (c *Console) undo(w http.ResponseWriter, r *http.Request, s *session) {
	o, ok := c.org(w, r, s)
	if !ok {
		return
	}
	back := c.orgURL(o.Config.ID)
	runID, err := strconv.ParseInt(r.PathValue("run"), 10, 64)
	if err != nil || runID <= 0 {
		c.messageBack(w, r, s, http.StatusNotFound, "Not found", "There is no run "+strconv.Quote(r.PathValue("run"))+".", back, o.Config.Name)
		return
	}
	back += "/run/" + strconv.FormatInt(runID, 10)
	c.log.Info("console: action", "user", s.user, "action", "plan undo", "org", o.Config.ID, "run", runID)
	p, err := c.opts.Syncer.PlanUndo(adsync.WithActor(r.Context(), s.user), o, runID)
	if err != nil {
		status, msg := refusal(err)
		switch {
		case errors.Is(err, adsync.ErrNotFound):
			msg = fmt.Sprintf("Run %d is no longer kept: the history keeps the newest %d runs of each organization, and only a kept run's changes can be undone. (%s)",
				runID, adsync.KeepRuns, err)
		case errors.Is(err, adsync.ErrRunInProgress):
			msg = "A run of this organization is in progress, or run " + strconv.FormatInt(runID, 10) +
				" has not finished: wait for it to finish, then undo again. (" + err.Error() + ")"
		}
		c.log.Warn("console: undo refused", "user", s.user, "org", o.Config.ID, "run", runID, "error", err)
		c.messageBack(w, r, s, status, "Undo refused", msg, back, "run "+strconv.FormatInt(runID, 10))
		return
	}
	sp := &storedPlan{id: randomToken()[:16], orgID: o.Config.ID, plan: p, by: s.user, created: c.now(), undoOf: runID}
	c.keepPlan(sp)
	http.Redirect(w, r, c.orgURL(o.Config.ID)+"/plan/"+sp.id, http.StatusSeeOther)
}

// applyPlan applies a previewed plan as shown; the Syncer refuses a stale
// one (R-RUN-7).
func (c *Console) applyPlan(w http.ResponseWriter, r *http.Request, s *session) {
	o, sp, ok := c.storedPlan(w, r, s)
	if !ok {
		return
	}
	syncer := c.opts.Syncer
	kind := "Apply the previewed plan"
	if sp.undoOf != 0 {
		kind = "Undo of run " + strconv.FormatInt(sp.undoOf, 10)
	}
	c.start(w, r, s, o, kind, func(ctx context.Context) (adsync.Run, error) {
		return syncer.Apply(ctx, o, sp.plan)
	})
}

func (c *Console) resolve(w http.ResponseWriter, r *http.Request, s *session) {
	o, ok := c.org(w, r, s)
	if !ok {
		return
	}
	back := c.orgURL(o.Config.ID) + "/conflicts"
	f := r.PostForm
	res := adsync.Resolution{UserID: f.Get("user"), Action: adsync.ResolutionAction(f.Get("action"))}
	if res.Action == adsync.ResolveLink {
		v := strings.TrimSpace(f.Get("contact"))
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			c.messageBack(w, r, s, http.StatusBadRequest, "Refused",
				fmt.Sprintf("Contact id %q is not a contact id: give the Autotask id of the contact to map the user to (a positive number).", v),
				back, "the conflicts")
			return
		}
		res.ContactID = id
	}
	// The resolution records who made it (Resolution.By), in the history.
	if err := c.opts.Syncer.Resolve(adsync.WithActor(r.Context(), s.user), o.Config, res); err != nil {
		status, msg := refusal(err)
		c.log.Warn("console: resolve refused", "user", s.user, "org", o.Config.ID, "directory_user", res.UserID, "error", err)
		c.messageBack(w, r, s, status, "Refused", msg, back, "the conflicts")
		return
	}
	c.log.Info("console: action", "user", s.user, "action", "resolve", "org", o.Config.ID, "directory_user", res.UserID,
		"resolution", res.Action, "contact", res.ContactID)
	msg := "Resolved: " + describeResolution(res) + ". It applies from the next run."
	c.sessions.setFlash(s, msg)
	http.Redirect(w, r, back, http.StatusSeeOther)
}

func describeResolution(r adsync.Resolution) string {
	switch r.Action {
	case adsync.ResolveLink:
		return fmt.Sprintf("user %s is mapped to contact %d", r.UserID, r.ContactID)
	case adsync.ResolveCreate:
		return fmt.Sprintf("a new contact will be created for user %s", r.UserID)
	}
	return fmt.Sprintf("user %s is ignored", r.UserID)
}

func (c *Console) unresolve(w http.ResponseWriter, r *http.Request, s *session) {
	o, ok := c.org(w, r, s)
	if !ok {
		return
	}
	back := c.orgURL(o.Config.ID) + "/conflicts"
	user := r.PostForm.Get("user")
	if err := c.opts.Syncer.Unresolve(r.Context(), o.Config.ID, user); err != nil {
		status, msg := refusal(err)
		c.messageBack(w, r, s, status, "Refused", msg, back, "the conflicts")
		return
	}
	c.log.Info("console: action", "user", s.user, "action", "unresolve", "org", o.Config.ID, "directory_user", user)
	c.sessions.setFlash(s, "The resolution of user "+user+" was removed: the user goes back to matching at the next run.")
	http.Redirect(w, r, back, http.StatusSeeOther)
}
