#!/usr/bin/env bash
# The project's test command (README.md, "Running the tests"): on a fresh
# Debian 12 machine with Go it installs and starts everything the tests need,
# runs the static checks, then every test.
#
#   ./scripts/test.sh            all checks and tests
#   ./scripts/test.sh -run X     extra arguments go to `go test`
#
# Services: each scripts/services/*.sh is sourced in turn. A service script
# installs its Debian packages with need_pkgs, starts its server on loopback,
# exports the variables its tests read (for example ADSYNC_LDAP_URL or
# ADSYNC_PG_DSN) and registers its stop command with on_exit. Tests that need
# a service skip without its variables, except when ADSYNC_REQUIRE_SERVICES=1
# (set here under CI), where they fail instead.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
export PATH="$PATH:$(go env GOPATH)/bin" # where go install puts staticcheck
if [ -n "${CI:-}" ]; then export ADSYNC_REQUIRE_SERVICES=1; fi

exit_cmds=()
on_exit() { exit_cmds+=("$*"); }
run_exit_cmds() {
  local i
  for ((i = ${#exit_cmds[@]} - 1; i >= 0; i--)); do eval "${exit_cmds[i]}" || true; done
}
trap run_exit_cmds EXIT

apt_updated=
need_pkgs() { # need_pkgs PKG...: installs the Debian packages that are missing
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ -z "$apt_updated" ]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

log() { printf '== %s\n' "$*" >&2; }

log "static checks"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt would change: $unformatted" >&2; exit 1; fi
go vet ./...
command -v staticcheck >/dev/null || go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
staticcheck ./...
# The root package must stay standard-library only (docs/design.md).
nonstd=$(go list -deps -f '{{if not .Standard}}{{.ImportPath}}{{end}}' . | grep -v "^$(go list -m)\$" || true)
if [ -n "$nonstd" ]; then echo "the root package imports non-standard packages: $nonstd" >&2; exit 1; fi
# Only source/graph and source/graph/graphconfig (and what imports them on
# purpose: the CLI, the Graph and service examples) may compile the Graph SDK,
# whose cold build takes minutes. The config package in particular must not:
# a program that loads LDAP organizations only does not compile it.
for pkg in $(go list ./... | grep -vE '/source/graph(/graphconfig)?$|/cmd/|/examples/'); do
  if go list -deps "$pkg" | grep -qE 'msgraph-sdk-go|kiota|azidentity'; then
    echo "$pkg depends on the Graph SDK; keep it in source/graph" >&2; exit 1
  fi
done

need_pkgs openssl # source/graph's PKCS#12 tests make certificates with it

for s in scripts/services/*.sh; do
  [ -e "$s" ] || continue
  log "service $(basename "$s" .sh)"
  # shellcheck source=/dev/null
  source "$s"
done

log "go test"
go test -count=1 -timeout 40m "$@" ./...
