#!/bin/sh
# cairn-sim-economics refuses a bad argument with exit 2 and names it with
# its control bytes spelled out (\xNN), never raw on the terminal.
# $1: the path of cairn-sim-economics.
bin=$1
esc=$(printf '\033')
for args in "--tasks 1${esc}]0;x$(printf '\007')2" "--fo${esc}[2Jo"; do
	# shellcheck disable=SC2086 # split into option and value on purpose
	out=$("$bin" $args 2>&1)
	rc=$?
	[ "$rc" -eq 2 ] || { echo "'$args': exit $rc, want 2"; exit 1; }
	case $out in
	*"$esc"*) echo "a raw ESC reached the output for '$args'"; exit 1 ;;
	*'\x1b'*) ;;
	*) echo "no escaped value in: $out"; exit 1 ;;
	esac
done
echo "sim_args: bad arguments refused (exit 2) and shown escaped"
