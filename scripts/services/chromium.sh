# shellcheck shell=bash
# Service for the console's browser tests (console/browser_test.go): Debian's
# Chromium, driven headless by chromedp, and axe-core for the accessibility
# check. Sourced by scripts/test.sh (need_pkgs, on_exit and log come from
# there). Exports ADSYNC_CHROMIUM (the browser) and, when npm can fetch it,
# ADSYNC_AXE_JS (axe.min.js of a pinned axe-core, unpacked into a temp
# directory removed on exit). Without ADSYNC_AXE_JS the browser tests make
# their own basic accessibility checks only.
#
# With ADSYNC_CHROMIUM already set, that browser is used. ADSYNC_SKIP_CHROMIUM=1
# skips the service (the browser tests then skip, or fail under CI).

axe_core_version=4.14.1

chromium_svc_start() {
  need_pkgs chromium
  export ADSYNC_CHROMIUM=/usr/bin/chromium
  log "chromium: $("$ADSYNC_CHROMIUM" --version 2>/dev/null)"
}

axe_svc_start() {
  if [ -n "${ADSYNC_AXE_JS:-}" ]; then return 0; fi
  command -v npm >/dev/null || need_pkgs npm
  local dir
  dir=$(mktemp -d /tmp/adsync-axe.XXXXXX)
  on_exit "rm -rf $dir"
  if (cd "$dir" && npm pack --silent "axe-core@$axe_core_version" >/dev/null 2>&1 && tar xzf axe-core-*.tgz); then
    export ADSYNC_AXE_JS="$dir/package/axe.min.js"
    log "chromium: axe-core $axe_core_version for the accessibility check"
  elif [ "${ADSYNC_REQUIRE_SERVICES:-}" = 1 ]; then
    echo "chromium: npm could not fetch axe-core $axe_core_version" >&2
    return 1
  else
    log "chromium: axe-core not available; the browser tests make basic accessibility checks only"
  fi
}

if [ "${ADSYNC_SKIP_CHROMIUM:-}" = 1 ]; then
  log "chromium: skipped (ADSYNC_SKIP_CHROMIUM=1)"
else
  if [ -n "${ADSYNC_CHROMIUM:-}" ]; then
    log "chromium: using $ADSYNC_CHROMIUM"
  else
    chromium_svc_start
  fi
  axe_svc_start
fi
