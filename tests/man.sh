#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The man pages: each renders without a warning (groff -man -ww -z), and every option a
# program's --help lists is in its page's OPTIONS section (and for iomapck-replay and
# e2fsck-ext's -E sub-options, every option the OPTIONS section names is in --help).  Every program answers --help
# (stdout, exit 0) and --version; a usage error is exit 16 with the usage on stderr.
. "$top_srcdir/tests/lib.sh"
: "${IOMAPCK_VM:=$top_builddir/iomapck-vm}"
command -v groff >/dev/null || skip "no groff (Debian package groff-base)"
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
man=$top_builddir/man
version=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' "$top_builddir/config.h")
n=0

for page in "$man"/e2fsck-ext.8 "$man"/debugfs-ext.8 "$man"/iomapck-replay.8 "$man"/iomapck-vm.1; do
	[ -f "$page" ] || fail "$page not built"
	grep -q '@[A-Z]*@' "$page" && fail "$page: a placeholder left: $(grep -o '@[A-Z]*@' "$page" | head -1)"
	groff -man -ww -z "$page" 2>"$t/warn"
	[ -s "$t/warn" ] && { cat "$t/warn"; fail "groff warns on ${page##*/}"; }
	n=$((n + 1))
done

# options_section PAGE: the OPTIONS section as plain text, one long line a paragraph
options_section() {
	groff -man -Tascii -P-cbou -rLL=2000n "$1" 2>/dev/null |
		awk '/^OPTIONS/ { on = 1; next } /^[A-Z]/ { on = 0 } on'
}
# help_options: the option names in a --help text on stdin
help_options() {
	grep -oE '(^|[^A-Za-z0-9_./-])--?[A-Za-z][A-Za-z0-9-]*' | sed 's/^[^-]*//' | sort -u
}
# check_prog NAME PAGE HELP-OPTIONS...: each option is in PAGE's OPTIONS
check_prog() {
	local name=$1 page=$2 o; shift 2
	options_section "$page" >"$t/opts"
	[ -s "$t/opts" ] || fail "${page##*/}: no OPTIONS section"
	for o in "$@"; do
		grep -qE -- "(^|[^A-Za-z0-9_-])$o([^A-Za-z0-9_-]|$)" "$t/opts" ||
			fail "$name --help lists $o, ${page##*/} OPTIONS does not"
		n=$((n + 1))
	done
}
# man_headings PAGE: the heading of each OPTIONS paragraph (the line after .TP), as text
man_headings() {
	awk '/^\.SH OPTIONS/ { on = 1; next } /^\.SH/ { on = 0 } on && tp { print; tp = 0 }
		on && /^\.TP/ { tp = 1 }' "$1" | sed -e 's/^\.[A-Z]* //' -e 's/\\-/-/g' -e 's/\\f[A-Z]//g' -e 's/"//g'
}
# check_man NAME PAGE: and the other way round: each option the OPTIONS headings name is in
# $t/help (a heading "-x, --long" names one option two ways: one of them will do)
check_man() {
	local name=$1 page=$2 h o found
	help_options <"$t/help" >"$t/hopts"
	while read -r h; do
		found=0
		for o in $(printf '%s\n' "$h" | help_options); do
			grep -qxF -- "$o" "$t/hopts" && found=$((found + 1)) ||
				[[ $h =~ ^-[A-Za-z]\ *,\ *--[a-z-]+$ ]] || fail "${page##*/} OPTIONS has $o, $name --help does not"
		done
		[ "$found" -gt 0 ] || fail "${page##*/} OPTIONS: none of '$h' in $name --help"
		n=$((n + 1))
	done < <(man_headings "$page" | grep -- '^-')
}
# run_help PROG: --help on stdout with exit 0, --version naming the version
run_help() {
	"$1" --help >"$t/help" 2>"$t/err" || fail "$1 --help: exit $?"
	[ -s "$t/help" ] && [ ! -s "$t/err" ] || fail "$1 --help: not on stdout alone"
	"$1" --version >"$t/ver" 2>&1 || fail "$1 --version: exit $?"
	grep -qF "$version" "$t/ver" || fail "$1 --version: '$(cat "$t/ver")', want $version"
}
# usage_error WANT CMD...: exit WANT, nothing on stdout, the usage on stderr
usage_error() {
	local want=$1 rc; shift
	"$@" >"$t/out" 2>"$t/err"; rc=$?
	[ "$rc" = "$want" ] || fail "$*: exit $rc, want $want"
	[ -s "$t/out" ] && fail "$*: usage on stdout"
	grep -q '^Usage: ' "$t/err" || fail "$*: no usage on stderr"
	n=$((n + 1))
}

run_help "$E2FSCK_EXT"
# the usage lines' options, then the -E sub-options (one a line: TAB name[=VALUE] TAB help)
check_prog e2fsck-ext "$man/e2fsck-ext.8" \
	$(grep -v '^	' "$t/help" | help_options) \
	$(sed -n 's/^	\([a-z_]*\).*/\1/p' "$t/help")
usage_error 16 "$E2FSCK_EXT" -E iomapcheck,iomap_checks=nope -fn /dev/null
# and every -E sub-option the page's OPTIONS name is one the help lists
for o in $(man_headings "$man/e2fsck-ext.8" | grep -oE 'iomap[a-z_]*' | sort -u); do
	grep -qE "^	$o(=|	)" "$t/help" || fail "e2fsck-ext.8 OPTIONS has -E $o, --help does not"
	n=$((n + 1))
done

run_help "$DEBUGFS_EXT"
check_prog debugfs-ext "$man/debugfs-ext.8" $(help_options <"$t/help")
usage_error 16 "$DEBUGFS_EXT" --nope
usage_error 16 "$DEBUGFS_EXT"

run_help "$IOMAPCK_REPLAY"
check_prog iomapck-replay "$man/iomapck-replay.8" $(help_options <"$t/help")
check_man iomapck-replay "$man/iomapck-replay.8"
usage_error 16 "$IOMAPCK_REPLAY" --nope
usage_error 16 "$IOMAPCK_REPLAY"

run_help "$IOMAPCK_VM"
# its options are the indented lines of "Options:" (the rest of the text names other tools')
check_prog iomapck-vm "$man/iomapck-vm.1" \
	$(awk '/^Options:/ { on = 1; next } /^[A-Z]/ { on = 0 } on && /^  -/' "$t/help" | help_options)
# the README's test command is CI's (.ci/run is not in the dist tarball)
if [ -f "$top_srcdir/.ci/run" ]; then
	[ "$(tail -1 "$top_srcdir/.ci/run")" = "$(sed -n 's/^    \(make -j2 check && .*\)/\1/p' "$top_srcdir/README.md")" ] ||
		fail "README.md's test command is not the last line of .ci/run"
	n=$((n + 1))
fi
echo "PASS: $n man page and --help checks"
