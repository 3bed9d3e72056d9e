#!/bin/sh
# cairn: cppcheck over the C sources of libcairn and the commands (ctest
# 'cppcheck', label unit; STYLE.md: style is checked by tools).
#
#   check-cppcheck.sh SOURCE_DIR GEN_DIR
#
# Exit 0 clean, 1 with findings (printed as FILE:LINE: ID: MESSAGE), 77
# (ctest's skip) where cppcheck is not installed.  The checks are
# warning, portability and performance; a false positive is silenced at
# its line with a "cppcheck-suppress ID" comment saying why.  The defines
# stand in for what cppcheck cannot see without the system headers: a
# little-endian host (attest/bundle_impl.h) and protobuf-c's version
# (the generated bundle.pb-c.h).
set -eu
src=$1
gen=$2
if ! command -v cppcheck >/dev/null 2>&1; then
	echo "cppcheck is not installed: skipped (apt-get install cppcheck)"
	exit 77
fi
cd "$src"
exec cppcheck --quiet --error-exitcode=1 --std=c11 --inline-suppr \
	--enable=warning,portability,performance \
	--template='{file}:{line}: {id}: {message}' \
	--suppress=missingIncludeSystem --suppress=missingInclude \
	-I include -I kernels -I "$gen" \
	-D__BYTE_ORDER__=1234 -D__ORDER_LITTLE_ENDIAN__=1234 \
	-DPROTOBUF_C_VERSION_NUMBER=1004001 \
	-DPROTOBUF_C_MIN_COMPILER_VERSION=1000000 \
	attest worker scheduler bench kernels/*.c kernels/cpu kernels/ref
