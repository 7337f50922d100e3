#!/usr/bin/env bash
# run.sh CMD [ARG...]: starts a throwaway Samba AD DC (as scripts/test.sh
# does), runs CMD with the ADSYNC_LDAP_* variables set, then stops the DC.
# For working on source/ldap alone, e.g.
#
#   ./scripts/samba/run.sh go test ./source/ldap/...
#   ./scripts/samba/run.sh bash   # explore it (ADSYNC_LDAP_* are set)
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PATH:/usr/local/go/bin"
# scripts/services/samba.sh registers one stop command.
exit_cmd=:
on_exit() { exit_cmd="$*"; }
trap 'eval "$exit_cmd"' EXIT
need_pkgs() {
  local missing=() p
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
log() { printf '== %s\n' "$*" >&2; }
# shellcheck source=../services/samba.sh
source scripts/services/samba.sh
"$@"
