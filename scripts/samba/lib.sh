# shellcheck shell=bash
# Helpers to run a throwaway Samba AD domain controller on 127.0.0.1 for the
# source/ldap tests (docs/directories.md §C1). Sourced by
# scripts/services/samba.sh and scripts/samba/run.sh; needs bash and root.
#
#   samba_dc_start DIR   provision a DC into DIR (a fresh directory) and start
#                        it in the background; sets SAMBA_DC_PID and exports
#                        the ADSYNC_LDAP_* variables the tests read
#   samba_dc_stop DIR    stop it and remove DIR
#   samba_dc_seed N      add N users (and groups) with LDIF over LDAPS
#
# Pitfalls handled here (docs/directories.md §C1):
# - the admin password must satisfy Samba's complexity rules;
# - provisioning derives names from the host name, so --host-name is fixed;
# - only one DC can listen on 127.0.0.1:389/636: a busy port is an error that
#   says what holds it;
# - pid, socket and lock directories are kept under DIR so the distribution's
#   /run/samba is never touched;
# - `ldap server require strong auth` keeps its default (yes): simple binds
#   need LDAPS or StartTLS, which the tests rely on.

SAMBA_DC_REALM=${SAMBA_DC_REALM:-ADSYNC.TEST}
SAMBA_DC_DOMAIN=${SAMBA_DC_DOMAIN:-ADSYNC}
SAMBA_DC_BASE_DN=${SAMBA_DC_BASE_DN:-DC=adsync,DC=test}
SAMBA_DC_PACKAGES=(samba-ad-dc samba-ad-provision ldb-tools ldap-utils winbind krb5-user openssl python3)

_samba_log() { printf '== samba: %s\n' "$*" >&2; }

# _samba_port_busy PORT: true when something listens on 127.0.0.1:PORT.
_samba_port_busy() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

samba_dc_start() {
  local dir=$1 t0=$SECONDS port
  if [ "$(id -u)" != 0 ]; then
    _samba_log "the Samba AD DC must run as root (it sets NT ACL xattrs); run the tests as root"
    return 1
  fi
  for port in 389 636; do
    if _samba_port_busy "$port"; then
      _samba_log "127.0.0.1:$port is already in use (another Samba or slapd?): $(ss -ltnpH "sport = :$port" 2>/dev/null | head -1)"
      _samba_log "stop it, or point the tests at a running DC with ADSYNC_LDAP_URL and friends"
      return 1
    fi
  done
  mkdir -p "$dir"
  # Complex enough for Samba's default password policy: upper, lower, digit, symbol.
  SAMBA_DC_ADMIN_PASSWORD="Aa1-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  if ! samba-tool domain provision --targetdir="$dir" --realm="$SAMBA_DC_REALM" \
    --domain="$SAMBA_DC_DOMAIN" --server-role=dc --dns-backend=NONE --use-rfc2307 \
    --host-name=dc1 --host-ip=127.0.0.1 --adminpass="$SAMBA_DC_ADMIN_PASSWORD" \
    --option="interfaces=lo" --option="bind interfaces only=yes" \
    --option="pid directory=$dir/run" --option="ncalrpc dir=$dir/run/ncalrpc" \
    --option="winbindd socket directory=$dir/run/winbindd" \
    --option="server services=ldap" \
    >"$dir/provision.log" 2>&1; then
    tail -20 "$dir/provision.log" >&2
    _samba_log "provisioning failed (log above; full log in $dir/provision.log)"
    return 1
  fi
  mkdir -p "$dir/run/ncalrpc" "$dir/run/winbindd"
  _samba_log "provisioned $SAMBA_DC_REALM in $((SECONDS - t0)) s"

  # Samba makes its TLS CA and certificate on first start with the serial
  # number (uint32_t)time(NULL) copied in host byte order
  # (source4/lib/tls/tlscert.c): on x86 the DER integer's first byte is the
  # low byte of the time, so the serial is negative whenever time % 256 >=
  # 128, for 128 s out of every 256. Go refuses such certificates
  # (x509: negative serial number). So start samba early in a 256 s cycle,
  # and check the result.
  local attempt
  for ((attempt = 1; ; attempt++)); do
    _samba_wait_serial_window
    _samba_run "$dir" || return 1
    if ! openssl x509 -in "$dir/private/tls/cert.pem" -noout -serial | grep -q '=-'; then
      break
    fi
    if ((attempt == 3)); then
      _samba_log "Samba's certificate has a negative serial number 3 times in a row; giving up"
      return 1
    fi
    _samba_log "Samba's certificate has a negative serial number (Go refuses it): making a new one"
    _samba_kill
    rm -f "$dir"/private/tls/*.pem
  done
  _samba_log "LDAPS up on 127.0.0.1:636 after $((SECONDS - t0)) s (pid $SAMBA_DC_PID)"

  export ADSYNC_LDAP_URL="ldaps://127.0.0.1:636"
  export ADSYNC_LDAP_BIND_DN="Administrator@$SAMBA_DC_REALM"
  export ADSYNC_LDAP_PASSWORD="$SAMBA_DC_ADMIN_PASSWORD"
  export ADSYNC_LDAP_BASE_DN="$SAMBA_DC_BASE_DN"
  export ADSYNC_LDAP_CA="$dir/private/tls/ca.pem"
  export ADSYNC_LDAP_REALM="$SAMBA_DC_REALM"
  export ADSYNC_LDAP_DOMAIN="$SAMBA_DC_DOMAIN"
}

# _samba_wait_serial_window: waits until time % 256 is below 112, so that
# the certificate samba makes within the next 16 s has a positive serial.
_samba_wait_serial_window() {
  local s=$(($(date +%s) % 256))
  if ((s >= 112)); then
    _samba_log "waiting $((256 - s)) s so that Samba's certificate gets a positive serial number"
    sleep $((256 - s))
  fi
}

# _samba_run DIR: starts samba in the background and waits until LDAPS
# answers.
_samba_run() {
  local dir=$1 i
  # --maximum-runtime ends a leaked server by itself.
  samba -s "$dir/etc/smb.conf" -i -M single --maximum-runtime=5400 >>"$dir/samba.log" 2>&1 &
  SAMBA_DC_PID=$!
  for ((i = 0; i < 300; i++)); do
    if ! kill -0 "$SAMBA_DC_PID" 2>/dev/null; then
      tail -20 "$dir/samba.log" >&2
      _samba_log "samba exited during start (log above)"
      return 1
    fi
    if [ -s "$dir/private/tls/cert.pem" ] && LDAPTLS_CACERT="$dir/private/tls/ca.pem" LDAPTLS_REQCERT=allow \
      ldapsearch -x -H ldaps://127.0.0.1 -s base -b '' -LLL dnsHostName >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.2
  done
  _samba_log "LDAPS did not answer within 60 s (log: $dir/samba.log)"
  return 1
}

# _samba_kill: stops the samba started by _samba_run, by its PID.
_samba_kill() {
  if [ -n "${SAMBA_DC_PID:-}" ] && kill -0 "$SAMBA_DC_PID" 2>/dev/null; then
    kill "$SAMBA_DC_PID" 2>/dev/null || true
    local i
    for ((i = 0; i < 50; i++)); do kill -0 "$SAMBA_DC_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SAMBA_DC_PID" 2>/dev/null || true
  fi
  SAMBA_DC_PID=
}

samba_dc_stop() {
  local dir=$1
  _samba_kill
  case "$dir" in /tmp/* | "${TMPDIR:-/tmp}"/*) rm -rf "$dir" ;; esac
}

# samba_dc_seed N: adds OU=adsync-seed with N users (seed-00001 …), every
# tenth disabled, and the groups seed-all (nested: seed-inner holds the users
# with an odd number, seed-all holds seed-inner and the even ones), with LDIF
# over LDAPS. Exports ADSYNC_LDAP_SEED_OU, ADSYNC_LDAP_SEED_GROUP and
# ADSYNC_LDAP_SEED_USERS for the tests and the benchmark.
samba_dc_seed() {
  local n=$1 t0=$SECONDS
  local ou="OU=adsync-seed,$ADSYNC_LDAP_BASE_DN" ldif
  ldif=$(mktemp)
  "$(dirname "${BASH_SOURCE[0]}")/seed-ldif.sh" "$ou" "$n" "$ADSYNC_LDAP_REALM" >"$ldif"
  if ! LDAPTLS_CACERT="$ADSYNC_LDAP_CA" LDAPTLS_REQCERT=allow ldapadd -x -c -H "$ADSYNC_LDAP_URL" \
    -D "$ADSYNC_LDAP_BIND_DN" -w "$ADSYNC_LDAP_PASSWORD" -f "$ldif" >/dev/null 2>"$ldif.err"; then
    tail -5 "$ldif.err" >&2
    _samba_log "seeding failed (ldapadd output above)"
    rm -f "$ldif" "$ldif.err"
    return 1
  fi
  rm -f "$ldif" "$ldif.err"
  export ADSYNC_LDAP_SEED_OU="$ou"
  export ADSYNC_LDAP_SEED_GROUP="CN=seed-all,$ou"
  export ADSYNC_LDAP_SEED_USERS="$n"
  _samba_log "seeded $n users in $ou in $((SECONDS - t0)) s"
}
