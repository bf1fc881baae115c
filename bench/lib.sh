# SPDX-License-Identifier: GPL-2.0-only
# bench/lib.sh - what the benchmark scripts share (sourced; they set $prog and $top first).

# need_arg OPTION [VALUE...]: the option must have a value (exit 2 with the usage otherwise).
need_arg() { [ $# -ge 2 ] || { echo "$prog: $1 needs a value" >&2; usage >&2; exit 2; }; }

# need_tools OURS REF REFNAME: GNU time, python3, our built tool and the reference tool must
# be there (exit 3 with what to do otherwise).
need_tools() {
	if [ ! -x /usr/bin/time ]; then
		echo "$prog: /usr/bin/time (GNU time) is missing; install it with: apt-get install time" >&2
		exit 3
	fi
	command -v python3 >/dev/null 2>&1 || { echo "$prog: python3 is needed for the arithmetic" >&2; exit 3; }
	if [ ! -x "$1" ]; then
		echo "$prog: $1 is missing or not executable; build it first: (cd $top && make)" >&2
		exit 3
	fi
	[ -x "$2" ] || { echo "$prog: reference $3 $2 is missing or not executable" >&2; exit 3; }
}
