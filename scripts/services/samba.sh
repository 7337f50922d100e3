# shellcheck shell=bash
# Service for source/ldap: a throwaway Samba AD domain controller on
# 127.0.0.1 (LDAPS on 636), provisioned into a temp directory, seeded with
# ADSYNC_LDAP_SEED_USERS users over LDAPS (default 1200: the tests need more
# than 1,000; the benchmark wants 5000), stopped and removed on exit.
# Sourced by scripts/test.sh (need_pkgs, on_exit and log come from there).
# Exports ADSYNC_LDAP_URL, ADSYNC_LDAP_BIND_DN, ADSYNC_LDAP_PASSWORD,
# ADSYNC_LDAP_BASE_DN, ADSYNC_LDAP_CA and ADSYNC_LDAP_SEED_*.
#
# With ADSYNC_LDAP_URL already set, the tests use that DC and nothing is
# started. ADSYNC_SKIP_SAMBA=1 skips the service (the LDAP tests then skip,
# or fail under CI).

if [ -n "${ADSYNC_LDAP_URL:-}" ]; then
  log "samba: using the DC at $ADSYNC_LDAP_URL"
elif [ "${ADSYNC_SKIP_SAMBA:-}" = 1 ]; then
  log "samba: skipped (ADSYNC_SKIP_SAMBA=1)"
else
  # shellcheck source=../samba/lib.sh
  source "$(dirname "${BASH_SOURCE[0]}")/../samba/lib.sh"
  need_pkgs "${SAMBA_DC_PACKAGES[@]}"
  samba_dc_dir=$(mktemp -d /tmp/adsync-samba.XXXXXX)
  on_exit samba_dc_stop "$samba_dc_dir"
  if samba_dc_start "$samba_dc_dir"; then
    samba_dc_seed "${ADSYNC_LDAP_SEED_USERS:-1200}"
  elif [ "${ADSYNC_REQUIRE_SERVICES:-}" = 1 ]; then
    exit 1
  else
    # Outside CI a DC that cannot start (a busy port, not root) only
    # costs the LDAP tests, which then skip and say why.
    log "samba: not started; the source/ldap tests will skip"
    unset ADSYNC_LDAP_URL
  fi
fi
