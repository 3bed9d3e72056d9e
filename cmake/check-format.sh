#!/bin/sh
# cairn: the C, C++ and CUDA sources against the committed .clang-format
# (ctest 'format', label unit; STYLE.md: style is checked by tools).
#
#   check-format.sh SOURCE_DIR
#
# Exit 0 when every file is as clang-format 14 writes it, 1 naming each
# file that is not (and how to fix it), 77 (ctest's skip) without
# clang-format 14: other releases lay out some constructs differently, so
# their verdict would not be this one.  The files are git's tracked ones
# when SOURCE_DIR is a git checkout, else every such file under the
# project's source folders.
set -eu
src=$1
cf=
for c in clang-format-14 clang-format; do
	if command -v "$c" >/dev/null 2>&1 &&
	    "$c" --version | grep -q 'version 14\.'; then
		cf=$c
		break
	fi
done
if [ -z "$cf" ]; then
	echo "clang-format 14 is not installed: skipped (apt-get install clang-format-14)"
	exit 77
fi
cd "$src"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	files=$(git ls-files '*.c' '*.h' '*.cu' '*.cuh' '*.cpp')
else
	files=$(find attest bench include kernels scheduler tests worker \
		-name '*.c' -o -name '*.h' -o -name '*.cu' -o -name '*.cuh' \
		-o -name '*.cpp')
fi
# one clang-format for all: its complaints start "FILE:LINE:COL: error:"
st=0
out=$("$cf" --style=file --dry-run -Werror $files 2>&1) || st=$?
bad=$(printf '%s\n' "$out" |
	sed -n 's/^\([^:]*\):[0-9]*:[0-9]*: error:.*/\1/p' | sort -u)
if [ "$st" != 0 ] && [ -z "$bad" ]; then
	printf '%s\n' "$out"
	echo "$cf failed (exit $st)"
	exit 1
fi
if [ -n "$bad" ]; then
	for f in $bad; do
		echo "$f: not as .clang-format lays it out; fix with: $cf -i --style=file $f"
	done
	exit 1
fi
echo "$(echo "$files" | wc -l) files as .clang-format lays them out"
