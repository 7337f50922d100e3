package console

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/psasync/adsync"
)

// org finds the organization of the request's {org}, or answers 404.
func (c *Console) org(w http.ResponseWriter, r *http.Request, s *session) (adsync.Org, bool) {
	id := r.PathValue("org")
	for _, o := range c.opts.Orgs() {
		if o.Config.ID == id {
			return o, true
		}
	}
	c.messageBack(w, r, s, http.StatusNotFound, "Not found", "There is no organization "+strconv.Quote(id)+" in the configuration.", c.opts.Prefix+"/", "the organizations")
	return adsync.Org{}, false
}

func (c *Console) orgURL(id string) string { return c.opts.Prefix + "/org/" + id }

type orgsBody struct {
	Rows      []orgRow
	Total     int
	Attention bool
	Query     string
	Needing   int
}

func (c *Console) orgsPage(w http.ResponseWriter, r *http.Request, s *session) {
	orgs := c.opts.Orgs()
	cfgs := make([]adsync.OrgConfig, len(orgs))
	for i := range orgs {
		cfgs[i] = orgs[i].Config
	}
	st, err := c.opts.Syncer.Status(r.Context(), cfgs)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	b := orgsBody{Total: len(st), Attention: r.URL.Query().Get("attention") != "", Query: strings.TrimSpace(r.URL.Query().Get("q"))}
	b.Rows = make([]orgRow, 0, len(st))
	for i := range st {
		row := orgRow{OrgStatus: st[i], Running: c.opts.Syncer.Running(st[i].OrgID), Attention: attention(&st[i])}
		if len(row.Attention) > 0 {
			b.Needing++
		}
		if (b.Attention && len(row.Attention) == 0) || !row.matches(b.Query) {
			continue
		}
		if c.opts.Scheduler != nil && row.Enabled {
			if t, err := c.opts.Scheduler.NextDue(r.Context(), row.OrgID); err == nil {
				row.NextDue, row.HasNext = t, true
			}
		}
		row.RunStrip = runStrip(c.opts.Prefix, row.OrgID, row.Runs)
		b.Rows = append(b.Rows, row)
	}
	c.render(w, r, s, http.StatusOK, "orgs", "Organizations", b)
}

type orgBody struct {
	Org       adsync.OrgConfig
	Fields    string
	UserCap   int
	Status    adsync.OrgStatus
	NextDue   time.Time
	HasNext   bool
	Runs      []adsync.Run
	Held      *adsync.Run // the newest run, when it held deactivations
	Running   bool
	Job       *jobView
	Progress  *adsync.Progress
	Conflicts int
	Prefix    string
}

func (b orgBody) refreshURL() string {
	if b.Running {
		return b.Prefix + "/org/" + b.Org.ID + "/state"
	}
	return ""
}

type jobView struct {
	Kind    string
	Actor   string
	Started time.Time
	Done    bool
	Error   string
	RunID   int64
	Status  adsync.RunStatus
}

func (c *Console) orgPage(w http.ResponseWriter, r *http.Request, s *session) {
	o, ok := c.org(w, r, s)
	if !ok {
		return
	}
	ctx := r.Context()
	st, err := c.opts.Syncer.Status(ctx, []adsync.OrgConfig{o.Config})
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	runs, err := c.opts.Syncer.History().Runs(ctx, o.Config.ID, adsync.KeepRuns)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	b := orgBody{Org: o.Config, Status: st[0], Running: c.opts.Syncer.Running(o.Config.ID), Conflicts: st[0].OpenConflicts, Prefix: c.opts.Prefix}
	b.UserCap = o.Config.UserCap()
	b.Fields = "all"
	if len(o.Config.Fields) > 0 {
		b.Fields = o.Config.Selected().String()
	}
	if c.opts.Scheduler != nil && o.Config.Enabled {
		if t, err := c.opts.Scheduler.NextDue(ctx, o.Config.ID); err == nil {
			b.NextDue, b.HasNext = t, true
		}
	}
	b.Runs = runs
	c.mu.Lock()
	j := c.jobs[o.Config.ID]
	if j != nil {
		jv := &jobView{Kind: j.kind, Actor: j.actor, Started: j.started}
		select {
		case <-j.done:
			jv.Done, jv.RunID, jv.Status = true, j.run.ID, j.run.Status
			if j.err != nil {
				_, jv.Error = refusal(j.err)
			}
		default:
			b.Running = true
		}
		b.Job = jv
	}
	if p, ok := c.progress[o.Config.ID]; ok && b.Running {
		b.Progress = &p
	}
	c.mu.Unlock()
	if len(b.Runs) > 0 && b.Runs[0].Status == adsync.StatusHeld && len(b.Runs[0].Held) > 0 {
		b.Held = &b.Runs[0]
	}
	c.render(w, r, s, http.StatusOK, "org", o.Config.Name+" ("+o.Config.ID+")", b)
}

// orgState answers whether a run of the organization is going on, for the
// script that reloads the page when it ends.
func (c *Console) orgState(w http.ResponseWriter, r *http.Request, s *session) {
	o, ok := c.org(w, r, s)
	if !ok {
		return
	}
	id := o.Config.ID
	out := struct {
		Running bool   `json:"running"`
		Phase   string `json:"phase,omitempty"`
		Done    int    `json:"done,omitempty"`
		Total   int    `json:"total,omitempty"`
	}{Running: c.opts.Syncer.Running(id)}
	c.mu.Lock()
	if j := c.jobs[id]; j != nil {
		select {
		case <-j.done:
		default:
			out.Running = true
		}
	}
	if p, ok := c.progress[id]; ok && out.Running {
		out.Phase, out.Done, out.Total = string(p.Phase), p.Done, p.Total
	}
	c.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

type runBody struct {
	Org     adsync.OrgConfig
	Run     *adsync.Run
	Prefix  string
	Approve bool
	Undo    bool // the run can be undone: it finished, and the organization is enabled
	Log     changeLog
}

func (c *Console) runPage(w http.ResponseWriter, r *http.Request, s *session) {
	o, ok := c.org(w, r, s)
	if !ok {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("run"), 10, 64)
	if err != nil {
		c.messageBack(w, r, s, http.StatusNotFound, "Not found", "There is no run "+strconv.Quote(r.PathValue("run"))+".", c.orgURL(o.Config.ID), o.Config.Name)
		return
	}
	lq, bad := parseLogQuery(r.URL.Query())
	if bad != "" {
		c.messageBack(w, r, s, http.StatusBadRequest, "Bad request", bad, c.orgURL(o.Config.ID), o.Config.Name)
		return
	}
	run, err := c.opts.Syncer.History().Run(r.Context(), o.Config.ID, id)
	if err != nil {
		if errors.Is(err, adsync.ErrNotFound) {
			c.messageBack(w, r, s, http.StatusNotFound, "Not found",
				"Run "+strconv.FormatInt(id, 10)+" is not in the history (it keeps the last 10 runs).", c.orgURL(o.Config.ID), o.Config.Name)
			return
		}
		c.fail(w, r, s, err)
		return
	}
	b := runBody{Org: o.Config, Run: &run, Prefix: c.opts.Prefix,
		Approve: run.Status == adsync.StatusHeld && len(run.Held) > 0 && o.Config.Enabled,
		Undo:    run.Status != adsync.StatusRunning && o.Config.Enabled}
	path := c.orgURL(o.Config.ID) + "/run/" + strconv.FormatInt(id, 10)
	if b.Log, err = c.loadChangeLog(r.Context(), o.Config.ID, adsync.ChangeFilter{RunID: id}, lq, path, nil); err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.render(w, r, s, http.StatusOK, "run", "Run "+strconv.FormatInt(id, 10)+" of "+o.Config.Name, b)
}

type conflictsBody struct {
	Org         adsync.OrgConfig
	Open        []conflictView
	Resolutions []resolutionView
	Prefix      string
}

type conflictView struct {
	adsync.Conflict
	Others     []string
	Candidates []candidateView
}

type candidateView struct {
	ID     int64
	Label  string
	Active bool
	Known  bool // read from the store
}

type resolutionView struct {
	adsync.Resolution
	User string
}

func (c *Console) conflictsPage(w http.ResponseWriter, r *http.Request, s *session) {
	o, ok := c.org(w, r, s)
	if !ok {
		return
	}
	ctx := r.Context()
	cs, err := c.opts.Syncer.Conflicts(ctx, o.Config.ID)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	rs, err := c.opts.Syncer.History().Resolutions(ctx, o.Config.ID)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	resolved := map[string]bool{}
	for _, res := range rs {
		resolved[res.UserID] = true
	}
	labels := map[string]string{}
	for _, cf := range cs {
		labels[cf.UserID] = cf.User
	}
	b := conflictsBody{Org: o.Config, Prefix: c.opts.Prefix}
	for _, cf := range cs {
		// A resolved conflict stays in the history until the next run
		// recomputes the conflicts (R-CONF-5); it is listed with the
		// resolutions instead.
		if resolved[cf.UserID] {
			continue
		}
		v := conflictView{Conflict: cf}
		for _, u := range cf.OtherUsers {
			if l, ok := labels[u]; ok {
				v.Others = append(v.Others, l)
			} else {
				v.Others = append(v.Others, u)
			}
		}
		for _, id := range cf.Candidates {
			cv := candidateView{ID: id, Label: "contact " + strconv.FormatInt(id, 10)}
			if c.opts.Contacts != nil {
				if ct, err := c.opts.Contacts.GetContact(ctx, id); err == nil {
					cv.Label, cv.Active, cv.Known = ct.Label(), ct.Active, true
				}
			}
			v.Candidates = append(v.Candidates, cv)
		}
		b.Open = append(b.Open, v)
	}
	for _, res := range rs {
		u := labels[res.UserID]
		if u == "" {
			u = res.UserID
		}
		b.Resolutions = append(b.Resolutions, resolutionView{Resolution: res, User: u})
	}
	slices.SortFunc(b.Resolutions, func(a, b resolutionView) int { return b.CreatedAt.Compare(a.CreatedAt) })
	c.render(w, r, s, http.StatusOK, "conflicts", "Conflicts of "+o.Config.Name, b)
}

type planBody struct {
	Org     adsync.OrgConfig
	UndoOf  int64 // the run an undo plan undoes; 0 for a preview
	ID      string
	Plan    *adsync.Plan
	Changes []changeView
	Held    []changeView
	More    int
	By      string
	Prefix  string
}

func (c *Console) storedPlan(w http.ResponseWriter, r *http.Request, s *session) (adsync.Org, *storedPlan, bool) {
	o, ok := c.org(w, r, s)
	if !ok {
		return o, nil, false
	}
	c.mu.Lock()
	sp := c.plans[r.PathValue("plan")]
	c.mu.Unlock()
	if sp == nil || sp.orgID != o.Config.ID || !c.now().Before(sp.created.Add(planTTL)) {
		c.messageBack(w, r, s, http.StatusNotFound, "Plan not found",
			"This preview is no longer kept: a newer preview or undo of the organization replaced it, an hour went by, or the service restarted. Preview (or plan the undo) again.",
			c.orgURL(o.Config.ID), o.Config.Name)
		return o, nil, false
	}
	return o, sp, true
}

func (c *Console) planPage(w http.ResponseWriter, r *http.Request, s *session) {
	o, sp, ok := c.storedPlan(w, r, s)
	if !ok {
		return
	}
	p := sp.plan
	b := planBody{Org: o.Config, ID: sp.id, Plan: p, By: sp.by, Prefix: c.opts.Prefix, UndoOf: sp.undoOf}
	for i := range p.Changes {
		if i == MaxPlanChanges {
			b.More = len(p.Changes) - i
			break
		}
		b.Changes = append(b.Changes, viewChange(&p.Changes[i]))
	}
	for i := range p.Held {
		b.Held = append(b.Held, viewChange(&p.Held[i]))
	}
	title := "Preview of " + o.Config.Name
	if sp.undoOf != 0 {
		title = "Undo of run " + strconv.FormatInt(sp.undoOf, 10) + " of " + o.Config.Name
	}
	c.render(w, r, s, http.StatusOK, "plan", title, b)
}

// planText serves the whole plan as the CLI prints it.
func (c *Console) planText(w http.ResponseWriter, r *http.Request, s *session) {
	o, sp, ok := c.storedPlan(w, r, s)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="plan-`+o.Config.ID+`.txt"`)
	_, _ = sp.plan.WriteTo(w)
}

// fail shows an error the administrator did not cause: the history could
// not be read, for example.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, s *session, err error) {
	status, msg := refusal(err)
	c.log.Error("console: request failed", "path", r.URL.Path, "error", err)
	c.message(w, r, s, status, "Error", msg)
}
