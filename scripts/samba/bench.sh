#!/usr/bin/env bash
# bench.sh [ROUNDS]: the source/ldap figure of BENCHMARKS.md. Reads the
# seeded OU (ADSYNC_LDAP_SEED_USERS users: give 5000) with the Go
# benchmark BenchmarkReadSeeded and with OpenLDAP's
# `ldapsearch -E pr=500/noprompt` (same DC, filter, attributes, page size,
# LDAPS), alternating the two ROUNDS times (default 7) so that load on the
# machine hits both alike, and prints the median wall time of each and the
# ratio. Both include connect, TLS handshake and bind. Run it against a DC
# seeded with 5,000 users:
#
#   ADSYNC_LDAP_SEED_USERS=5000 ./scripts/samba/run.sh ./scripts/samba/bench.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-7}
: "${ADSYNC_LDAP_URL:?no DC: run ADSYNC_LDAP_SEED_USERS=5000 ./scripts/samba/run.sh ./scripts/samba/bench.sh}"
: "${ADSYNC_LDAP_SEED_OU:?the DC has no seeded OU (scripts/samba/lib.sh samba_dc_seed)}"
# The attributes the Source asks for (attributeList in source/ldap/config.go).
attrs=(objectGUID userAccountControl userPrincipalName cn displayName givenName sn initials mail title
  telephoneNumber mobile facsimileTelephoneNumber homePhone streetAddress l st postalCode c
  physicalDeliveryOfficeName)
filter='(&(objectCategory=person)(objectClass=user))'
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go test -c -o "$bin/ldap.test" ./source/ldap

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
go_ms=() ls_ms=()
for ((i = 1; i <= rounds; i++)); do
  ns=$("$bin/ldap.test" -test.run '^$' -test.bench '^BenchmarkReadSeeded$' -test.benchtime 1x |
    awk '/^BenchmarkReadSeeded/ {print $3}')
  go_ms+=("$((ns / 1000000))")
  t0=$(date +%s%N)
  n=$(LDAPTLS_CACERT="$ADSYNC_LDAP_CA" LDAPTLS_REQCERT=allow ldapsearch -x -H "$ADSYNC_LDAP_URL" \
    -D "$ADSYNC_LDAP_BIND_DN" -w "$ADSYNC_LDAP_PASSWORD" -b "$ADSYNC_LDAP_SEED_OU" \
    -E pr=500/noprompt -LLL "$filter" "${attrs[@]}" | grep -c '^dn:')
  ls_ms+=("$((($(date +%s%N) - t0) / 1000000))")
  echo "round $i: go ${go_ms[-1]} ms, ldapsearch ${ls_ms[-1]} ms ($n entries)" >&2
done
g=$(printf '%s\n' "${go_ms[@]}" | median)
l=$(printf '%s\n' "${ls_ms[@]}" | median)
echo "users: ${ADSYNC_LDAP_SEED_USERS:-?}, rounds: $rounds"
echo "source/ldap Users (median): $g ms"
echo "ldapsearch -E pr=500/noprompt (median): $l ms"
awk -v g="$g" -v l="$l" 'BEGIN {printf "ratio: %.2f\n", g / l}'
