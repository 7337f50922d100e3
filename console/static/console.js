// Progressive enhancement only: every page works without it. While a run
// is going on, the organization page asks every two seconds whether it
// still is, shows its progress, and reloads when it ends.
(function () {
  "use strict";
  var state = document.body.getAttribute("data-state");
  if (!state) { return; }
  var progress = document.getElementById("progress");
  function poll() {
    fetch(state, { credentials: "same-origin", cache: "no-store" }).then(function (r) {
      if (!r.ok) { throw new Error(r.status); }
      return r.json();
    }).then(function (s) {
      if (!s.running) { window.location.reload(); return; }
      if (progress && s.phase) {
        progress.textContent = s.phase + ": " + s.done + (s.total ? " of " + s.total : "");
      }
      window.setTimeout(poll, 2000);
    }).catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
})();
