#!/usr/bin/env bash
# seed-ldif.sh OU N REALM: prints LDIF that creates OU, N users under it and
# two nested groups (see samba_dc_seed in lib.sh). Deterministic, so the
# benchmark and `ldapsearch` read the same data on every machine.
#
# User i (1-based): cn "Seed User i" (5 digits), sAMAccountName seed-i, UPN
# and mail seed-i@REALM (lower case), givenName/sn with every seventh user in
# a non-ASCII script, every tenth disabled (userAccountControl 514, else 544:
# an enabled account that needs no password). seed-inner holds the odd users,
# seed-all holds seed-inner and the even users, so seed-all's nested members
# are every user.
set -euo pipefail
exec python3 - "$@" <<'PY'
import base64, sys

ou, n, realm = sys.argv[1], int(sys.argv[2]), sys.argv[3].lower()
out = sys.stdout
def attr(name, value):
    if value.isascii() and "\n" not in value and not value.startswith((" ", ":", "<")):
        out.write(f"{name}: {value}\n")
    else:
        out.write(f"{name}:: {base64.b64encode(value.encode()).decode()}\n")

given = ["Zoë", "Jürgen", "Иван", "Ελένη", "美咲", "Łukasz", "José"]
family = ["Ñúñez", "Müller", "Петров", "Παπαδοπούλου", "佐藤", "Wąsowski", "O'Brien"]
out.write(f"dn: {ou}\nobjectClass: organizationalUnit\n\n")
for i in range(1, n + 1):
    cn = f"Seed User {i:05d}"
    sam = f"seed-{i:05d}"
    out.write(f"dn: CN={cn},{ou}\n")
    attr("objectClass", "user")
    attr("cn", cn)
    attr("sAMAccountName", sam)
    attr("userPrincipalName", f"{sam}@{realm}")
    attr("mail", f"{sam}@{realm}")
    if i % 7 == 0:
        attr("givenName", given[(i // 7) % len(given)])
        attr("sn", family[(i // 7) % len(family)])
    else:
        attr("givenName", f"Given{i:05d}")
        attr("sn", f"Family{i:05d}")
    attr("displayName", cn)
    attr("title", "Engineer")
    attr("telephoneNumber", f"+49 30 {i:07d}")
    attr("streetAddress", f"{i} Main Street\nFloor {i % 9 + 1}")
    attr("l", "Berlin")
    attr("postalCode", "10115")
    attr("c", "DE")
    attr("userAccountControl", "514" if i % 10 == 0 else "544")
    out.write("\n")
for name, members in (("seed-inner", [i for i in range(1, n + 1) if i % 2 == 1]),
                      ("seed-all", [i for i in range(1, n + 1) if i % 2 == 0])):
    out.write(f"dn: CN={name},{ou}\nobjectClass: group\nsAMAccountName: {name}\n")
    if name == "seed-all":
        out.write(f"member: CN=seed-inner,{ou}\n")
    for i in members:
        out.write(f"member: CN=Seed User {i:05d},{ou}\n")
    out.write("\n")
PY
