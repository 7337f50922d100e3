package console_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// browser is a headless Chromium driving the console, saving a screenshot
// of each page it is asked to.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string
	dir  string // screenshots
	axe  string // axe-core's source, or "" for the basic checks only
	n    int
}

// newBrowser starts Chromium (ADSYNC_CHROMIUM), or skips the test without
// it, failing instead under ADSYNC_REQUIRE_SERVICES=1.
func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	exe := os.Getenv("ADSYNC_CHROMIUM")
	if exe == "" {
		if os.Getenv("ADSYNC_REQUIRE_SERVICES") == "1" {
			t.Fatal("ADSYNC_CHROMIUM is not set (scripts/services/chromium.sh sets it) and ADSYNC_REQUIRE_SERVICES=1")
		}
		t.Skip("ADSYNC_CHROMIUM is not set: run scripts/services/chromium.sh, or point it at a Chromium binary")
	}
	b := &browser{t: t, base: base}
	if p := os.Getenv("ADSYNC_AXE_JS"); p != "" {
		src, err := os.ReadFile(p)
		require.NoError(t, err, "ADSYNC_AXE_JS")
		b.axe = string(src)
	} else if os.Getenv("ADSYNC_REQUIRE_SERVICES") == "1" {
		t.Fatal("ADSYNC_AXE_JS is not set (scripts/services/chromium.sh sets it) and ADSYNC_REQUIRE_SERVICES=1")
	}
	// Screenshots outlive the test, for a reviewer: under
	// ADSYNC_SCREENSHOTS when set, else a new directory in the system's
	// temporary directory.
	if d := os.Getenv("ADSYNC_SCREENSHOTS"); d != "" {
		b.dir = filepath.Join(d, t.Name())
		require.NoError(t, os.MkdirAll(b.dir, 0o755))
	} else {
		d, err := os.MkdirTemp("", "adsync-console-screenshots-")
		require.NoError(t, err)
		b.dir = d
	}
	t.Logf("screenshots in %s", b.dir)

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.WindowSize(1400, 900),
		chromedp.NoSandbox, // Chromium's sandbox refuses to run as root, as CI does
		chromedp.DisableGPU)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	b.ctx = ctx
	require.NoError(t, chromedp.Do(ctx), "start Chromium")
	return b
}

func (b *browser) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	require.NoError(b.t, chromedp.Do(b.ctx, actions...))
}

func run[T any](b *browser, a chromedp.Action[T]) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, a)
	require.NoError(b.t, err)
	return v
}

// text returns the visible text of the page's main element.
func (b *browser) text() string {
	b.t.Helper()
	return run(b, chromedp.Text(chromedp.CSS("main")))
}

// shot saves a full-page screenshot and checks the page's accessibility.
func (b *browser) shot(name string) {
	b.t.Helper()
	b.n++
	png := run(b, chromedp.FullScreenshot(100))
	file := filepath.Join(b.dir, fmt.Sprintf("%02d-%s.png", b.n, name))
	require.NoError(b.t, os.WriteFile(file, png, 0o644))
	b.checkAccessibility(name)
}

// basicChecks is what the console checks on every page whether or not
// axe-core is available: a language, a title, one h1, a label for every
// field and a name for every button and link.
const basicChecks = `(() => {
  const bad = [];
  if (!document.documentElement.lang) bad.push("html has no lang");
  if (!document.title) bad.push("no title");
  if (document.querySelectorAll("h1").length !== 1) bad.push("not exactly one h1");
  for (const el of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
    const labelled = (el.labels && el.labels.length > 0) || el.getAttribute("aria-label") || el.getAttribute("aria-labelledby");
    if (!labelled) bad.push("field without a label: " + (el.id || el.name));
  }
  for (const el of document.querySelectorAll("button, a[href]")) {
    if (!el.textContent.trim() && !el.getAttribute("aria-label")) bad.push("unnamed " + el.tagName + " " + el.outerHTML.slice(0, 80));
  }
  for (const el of document.querySelectorAll("[id]")) {
    if (document.querySelectorAll("#" + CSS.escape(el.id)).length > 1) bad.push("duplicate id " + el.id);
  }
  return bad;
})()`

func (b *browser) checkAccessibility(page string) {
	b.t.Helper()
	bad := run(b, chromedp.Evaluate[[]string](basicChecks))
	assert.Empty(b.t, bad, "accessibility of %s", page)
	if b.axe == "" {
		return
	}
	loaded := run(b, chromedp.Evaluate[bool](b.axe+";typeof axe !== 'undefined'"))
	require.True(b.t, loaded, "axe-core loaded")
	violations := run(b, chromedp.Evaluate[[]string](`axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}})
		.then(r => r.violations.filter(v => v.impact === "serious" || v.impact === "critical")
		.map(v => v.id + ": " + v.help + " — " + v.nodes.slice(0, 3).map(n => n.target.join(" ")).join("; ")))`, chromedp.EvalAwaitPromise))
	assert.Empty(b.t, violations, "axe-core: serious or critical violations on %s", page)
}

func TestBrowser(t *testing.T) {
	f := newFixture(t)
	gate := &gatedSource{DirectorySource: f.dirs["northwind"], entered: make(chan struct{}), release: make(chan struct{})}
	f.orgs[0].Source = gate
	s := serve(t, f, nil)
	b := newBrowser(t, s.URL)

	// Sign in.
	b.do(chromedp.Navigate(s.URL+"/"), chromedp.WaitVisible(chromedp.ID("username")))
	b.shot("sign-in")
	b.do(chromedp.SendKeys(chromedp.ID("username"), "admin"), chromedp.SendKeys(chromedp.ID("password"), adminPassword),
		chromedp.Click(chromedp.CSS(`button[type=submit].primary`)), chromedp.WaitVisible(chromedp.CSS("table.orgs")))
	assert.Contains(t, b.text(), "5 of 5 organizations shown")
	b.shot("organizations")

	// Filter "needs attention".
	b.do(chromedp.Click(chromedp.ID("attention")), chromedp.Click(chromedp.CSS(`form.filters button`)),
		chromedp.WaitVisible(`//p[contains(., "4 of 5 organizations shown")]`))
	assert.NotContains(t, b.text(), "Fabrikam")
	b.shot("needs-attention")

	// Approve a held run: its deactivations are shown first.
	b.do(chromedp.Click(`//a[text()="Contoso Ltd"]`), chromedp.WaitVisible(chromedp.ID("approve")))
	assert.Contains(t, b.text(), "held 15 deactivations for approval")
	b.shot("held-run")
	b.do(chromedp.Click(chromedp.ID("approve")), chromedp.WaitVisible(`//p[@class="flash" and contains(., "deactivated 15")]`))
	b.shot("approved")

	// The approval run's change log: its 15 deactivations, each contact
	// linking to every change to it.
	approval := strconv.FormatInt(lastRun(t, f, "contoso"), 10)
	b.do(chromedp.Click(`//table[contains(@class, "runs-table")]//a[text()="`+approval+`"]`),
		chromedp.WaitVisible(`//h1[text()="Run `+approval+` of Contoso Ltd"]`), chromedp.WaitVisible(chromedp.ID("log-count")))
	assert.Contains(t, b.text(), "Changes 1–15 of 15.")
	b.shot("run-change-log")
	b.do(chromedp.SetValue(chromedp.ID("kind"), "update"), chromedp.Click(`//form[contains(@class, "log-filter")]//button`),
		chromedp.WaitVisible(`//p[@id="log-count" and contains(., "No change of kind update")]`))
	b.do(chromedp.SetValue(chromedp.ID("kind"), "deactivate"), chromedp.Click(`//form[contains(@class, "log-filter")]//button`),
		chromedp.WaitVisible(`//p[@id="log-count" and contains(., "of 15 (deactivate)")]`))
	b.do(chromedp.Click(`(//table[contains(@class, "changelog")]//a[contains(@href, "changes?contact=")])[1]`),
		chromedp.WaitVisible(`//h1[starts-with(., "Changes to ")]`))
	assert.Contains(t, b.text(), "Changes 1–3 of 3.", "created by the first run, held by the next, deactivated by the approval")
	b.shot("contact-changes")

	// Undo the approval: the plan, then the undo run in the runs table.
	b.do(chromedp.Navigate(s.URL+"/org/contoso/run/"+approval), chromedp.WaitVisible(chromedp.ID("undo")),
		chromedp.Click(chromedp.ID("undo")), chromedp.WaitVisible(`//h1[text()="Undo of run `+approval+` of Contoso Ltd"]`))
	assert.Contains(t, b.text(), "15 to reactivate")
	b.shot("undo-plan")
	b.do(chromedp.Click(chromedp.ID("apply-undo")),
		chromedp.WaitVisible(`//table[contains(@class, "runs-table")]//tr[td[text()="undo of `+approval+`"]]/td[text()="admin"]`))
	undo := lastRun(t, f, "contoso")
	assert.Contains(t, b.text(), "Undo of run "+approval+": run "+strconv.FormatInt(undo, 10)+" succeeded")
	b.shot("undo-done")

	// Preview an organization, a disabled one.
	b.do(chromedp.Navigate(s.URL+"/org/fabrikam"), chromedp.WaitVisible(chromedp.ID("preview")),
		chromedp.Click(chromedp.ID("preview")), chromedp.WaitVisible(`//h1[contains(., "Preview of Fabrikam")]`))
	assert.Contains(t, b.text(), "5 to create")
	b.shot("preview-disabled-org")

	// Sync now and watch it finish: the directory read waits until the
	// page has shown the run in progress.
	b.do(chromedp.Navigate(s.URL+"/org/northwind"), chromedp.WaitVisible(chromedp.ID("sync")),
		chromedp.Click(chromedp.ID("sync")), chromedp.WaitVisible(chromedp.ID("running")))
	b.shot("sync-running")
	close(gate.release)
	b.do(chromedp.WaitNotPresent(chromedp.ID("running")))
	b.do(chromedp.WaitVisible(`//table[contains(@class, "runs-table")]//tr[th/a[text()="` +
		strconv.FormatInt(lastRun(t, f, "northwind"), 10) + `"]]/td[text()="admin"]`))
	b.shot("sync-done")

	// Resolve a conflict by mapping, and see it leave the open conflicts.
	cand := strconv.FormatInt(f.candidates[0], 10)
	b.do(chromedp.Click(chromedp.ID("conflicts")), chromedp.WaitVisible(`//h2[contains(., "Open conflicts (3)")]`))
	b.shot("conflicts")
	b.do(chromedp.Click(`//button[text()="Map to contact `+cand+`"]`),
		chromedp.WaitVisible(`//h2[contains(., "Open conflicts (2)")]`))
	page := b.text()
	assert.Contains(t, page, "Resolved: user "+f.multi+" is mapped to contact "+cand)
	assert.NotContains(t, page, "Map to contact "+cand)
	assert.Contains(t, page, "mapped to contact "+cand)
	b.shot("conflict-resolved")

	// A failed run's page.
	b.do(chromedp.Navigate(s.URL+"/org/tailspin/run/"+strconv.FormatInt(lastRun(t, f, "tailspin"), 10)),
		chromedp.WaitVisible(`//h1[starts-with(., "Run ")]`))
	b.shot("failed-run")

	// Sign out.
	b.do(chromedp.Click(`//button[text()="Sign out"]`), chromedp.WaitVisible(chromedp.ID("username")))
	b.do(chromedp.Navigate(s.URL+"/org/northwind"), chromedp.WaitVisible(chromedp.ID("username")))
	assert.True(t, strings.HasPrefix(b.text(), "Sign in"))
	b.shot("signed-out")
}

func lastRun(t *testing.T, f *fixture, org string) int64 {
	runs, err := f.hist.Runs(context.Background(), org, 1)
	require.NoError(t, err)
	require.NotEmpty(t, runs)
	return runs[0].ID
}
