#!/usr/bin/env bash
# cite-docs.sh: make comments, tests, scripts and Markdown cite the project's
# own docs/ instead of the research notes they were written from, which are
# not in the repository:
#
#   sync-rules.md      -> docs/rules.md          (same § numbers, same rule ids)
#   autotask-adsync.md -> docs/rules.md          (its Autotask help pages table)
#   autotask-rest.md   -> docs/autotask-api.md   (same § numbers)
#   directory.md       -> docs/directories.md    (same §A1 … §D letters and numbers)
#
# A citation may carry any directory prefix (spec/…, or an absolute path of
# the machine it was written on, which goes too) or none. "sync-rules §5"
# without the .md is cited too and becomes "docs/rules.md §5". The § numbers
# are kept as they are: the docs use the same ones.
#
# Idempotent: the new names contain none of the old ones, so running it again
# (for example after merging a branch that still cites the notes) changes
# only new citations. It prints the files it changed. Run from anywhere; it
# works on the repository containing it.
set -euo pipefail
cd "$(dirname "$0")/.."

# Any run of path segments before the name: "spec/", "../spec/", or an
# absolute path of some machine.
prefix='([A-Za-z0-9_.~-]*/)*'
# What may stand before a bare name: not a letter, digit, or path character,
# so that for example "docs/directories.md" or "mydirectory.md" are left alone.
before='(^|[^A-Za-z0-9_./~-])'

sed_script=$(cat <<EOF
s#${prefix}spec/sync-rules\.md#docs/rules.md#g
s#${prefix}spec/autotask-adsync\.md#docs/rules.md#g
s#${prefix}spec/autotask-rest\.md#docs/autotask-api.md#g
s#${prefix}spec/directory\.md#docs/directories.md#g
s#${before}sync-rules\.md#\1docs/rules.md#g
s#${before}sync-rules §#\1docs/rules.md §#g
s#${before}autotask-adsync\.md#\1docs/rules.md#g
s#${before}autotask-rest\.md#\1docs/autotask-api.md#g
s#${before}directory\.md#\1docs/directories.md#g
EOF
)

# The files that may cite: Go, Markdown, shell scripts and CI, but not this
# script (its patterns name the old files on purpose) and nothing under .git.
find . -name .git -prune -o -type f \( -name '*.go' -o -name '*.md' -o -name '*.sh' -o -path './.ci/*' \) \
	! -path './scripts/cite-docs.sh' -print0 |
	while IFS= read -r -d '' f; do
		if sed -E "$sed_script" "$f" | cmp -s - "$f"; then
			continue
		fi
		sed -E -i "$sed_script" "$f"
		echo "${f#./}"
	done
