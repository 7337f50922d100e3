# shellcheck shell=bash
# Service for history/postgres: a throwaway PostgreSQL server on 127.0.0.1,
# in a temp directory, run by the unprivileged OS user adsyncpg (created if
# missing; PostgreSQL refuses to run as root), stopped and removed on exit.
# Sourced by scripts/test.sh (need_pkgs, on_exit and log come from there).
# Exports ADSYNC_PG_DSN, postgres://adsync:PASSWORD@127.0.0.1:PORT/adsync:
# the role adsync is a superuser with a random password (SCRAM over TCP);
# each test makes its own schema in that database.
#
# With ADSYNC_PG_DSN already set, the tests use that server and nothing is
# started. ADSYNC_SKIP_POSTGRES=1 skips the service (the PostgreSQL tests
# then skip, or fail under CI).

pg_svc_start() {
  need_pkgs postgresql
  local bin port dir pw runas=()
  bin=$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d | sort -V | tail -n 1)
  if [ -z "$bin" ]; then echo "postgres: no /usr/lib/postgresql/*/bin after installing postgresql" >&2; return 1; fi
  dir=$(mktemp -d /tmp/adsync-pg.XXXXXX)
  if [ "$(id -u)" = 0 ]; then
    id adsyncpg >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin adsyncpg
    chown adsyncpg: "$dir"
    runas=(runuser -u adsyncpg --)
  fi
  chmod 700 "$dir"
  # A free port: the first from 55432 that nothing listens on.
  port=55432
  while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
  pw=$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')
  printf '%s\n' "$pw" >"$dir/pw"
  [ ${#runas[@]} -eq 0 ] || chown adsyncpg: "$dir/pw"
  # The tools run from $dir: adsyncpg may not be able to read the current
  # directory (e.g. a checkout under /root).
  (cd "$dir" && "${runas[@]}" "$bin/initdb" -D "$dir/data" -U adsync --pwfile="$dir/pw" -E UTF8 --no-locale \
    --auth-local=trust --auth-host=scram-sha-256 --no-sync >"$dir/initdb.log" 2>&1) ||
    { cat "$dir/initdb.log" >&2; return 1; }
  rm -f "$dir/pw"
  on_exit "(cd /tmp && ${runas[*]} $bin/pg_ctl -D $dir/data -m immediate stop >/dev/null 2>&1); rm -rf $dir"
  # fsync off: a test server, thrown away; max_connections for the lock
  # connections of parallel tests.
  (cd "$dir" && "${runas[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
    start >/dev/null) || { cat "$dir/server.log" >&2; return 1; }
  (cd "$dir" && "${runas[@]}" "$bin/psql" -h "$dir" -p "$port" -U adsync -d postgres -qAt -v ON_ERROR_STOP=1 \
    -c 'CREATE DATABASE adsync' >/dev/null)
  export ADSYNC_PG_DSN="postgres://adsync:$pw@127.0.0.1:$port/adsync?sslmode=disable"
  log "postgres: $("$bin/postgres" --version) on 127.0.0.1:$port (data in $dir)"
}

if [ -n "${ADSYNC_PG_DSN:-}" ]; then
  log "postgres: using the server of ADSYNC_PG_DSN"
elif [ "${ADSYNC_SKIP_POSTGRES:-}" = 1 ]; then
  log "postgres: skipped (ADSYNC_SKIP_POSTGRES=1)"
else
  pg_svc_start
fi
