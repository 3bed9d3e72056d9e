#!/usr/bin/env bash
# fetch-deps.sh: download the Debian 12 packages that cairn needs to build,
# test and run on a lent GPU machine (docs/gpu-session.md).
#
# Runs HERE, on the Debian 12 (amd64) development machine, which reaches
# Debian's apt registry.  It only downloads (apt-get download): nothing is
# installed.  The .deb files go to .deps/ at the repository root (ignored by
# git), with a MANIFEST (package, version, file, sha256) that
# bench/gpu/device-build.sh checks on the device before it unpacks them.
#
#   bench/gpu/fetch-deps.sh            download what is missing
#   bench/gpu/fetch-deps.sh --clean    empty .deps/ first, download all
#
# The device machine (not Debian: nvcc, cmake, ninja, python3 with PyTorch)
# lacks libsodium, hwloc, protobuf-c and protoc-c, cmocka, the zlib headers,
# pkg-config, OpenBLAS and Fashion-MNIST, and cannot download anything.
set -euo pipefail

cd "$(dirname "$0")/../.."
root=$(pwd)
deps="$root/.deps"
limit_mib=50

# What cairn needs there, and why (CMakeLists.txt, tests/, bench/blas_ref.c):
#   libsodium-dev libsodium23           pkg_check_modules(libsodium)
#   libhwloc-dev libhwloc15 libudev1    pkg_check_modules(hwloc); libhwloc
#                                       needs libudev.so.1 at run time
#   hwloc                               hwloc-calc and hwloc-info, which
#                                       tests/test_info.c compares with
#   libprotobuf-c-dev libprotobuf-c1    pkg_check_modules(libprotobuf-c)
#   protobuf-c-compiler libprotoc32     protoc-c (generates the bundle code)
#     libprotobuf32                     and the libraries it runs with
#   libcmocka-dev libcmocka0            tests/CMakeLists.txt: cmocka
#   zlib1g-dev zlib1g                   find_package(ZLIB); zlib1g makes the
#                                       dev package's libz.so link resolve
#   pkgconf pkgconf-bin libpkgconf3     find_package(PkgConfig) needs a
#                                       pkg-config program
#   libopenblas0-pthread libgfortran5   OpenBLAS, which cairn bench dlopens
#     libquadmath0                      as its CPU reference
#   dataset-fashion-mnist               the data of cairn train and tests
# Not needed: libuv1-dev and libsqlite3-dev (nothing in CMake uses them yet).
PKGS=(
	libsodium-dev libsodium23
	libhwloc-dev libhwloc15 libudev1 hwloc
	libprotobuf-c-dev libprotobuf-c1 protobuf-c-compiler libprotoc32 libprotobuf32
	libcmocka-dev libcmocka0
	zlib1g-dev zlib1g
	pkgconf pkgconf-bin libpkgconf3
	libopenblas0-pthread libgfortran5 libquadmath0
	dataset-fashion-mnist
)

die() {
	echo "fetch-deps: $*" >&2
	exit 1
}

command -v apt-get >/dev/null || die "apt-get not found: run this on the Debian 12 development machine"
[ "$(dpkg --print-architecture)" = amd64 ] ||
	die "this machine is $(dpkg --print-architecture), the device is amd64; fetch on an amd64 Debian 12"
grep -q '^VERSION_CODENAME=bookworm' /etc/os-release ||
	echo "fetch-deps: warning: this is not Debian 12 (bookworm); the kit was made for its packages" >&2

if [ "${1:-}" = --clean ]; then
	rm -f "$deps"/*.deb "$deps/MANIFEST"
elif [ $# -gt 0 ]; then
	die "usage: bench/gpu/fetch-deps.sh [--clean]"
fi
mkdir -p "$deps"

# .deps/ must never be committed: it travels to the device only when a run
# names it in carry.
grep -qx '/.deps/' "$root/.gitignore" 2>/dev/null ||
	echo "fetch-deps: warning: .gitignore lacks '/.deps/'; add it so .deps is not committed" >&2

# Each package is kept as .deps/PACKAGE.deb (its version is in MANIFEST):
# plain names travel and unpack without quoting surprises ('%3a', '~', '+').
missing=()
for p in "${PKGS[@]}"; do
	[ -f "$deps/$p.deb" ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "fetch-deps: downloading ${#missing[@]} package(s): ${missing[*]}"
	# Root's downloads skip apt's _apt sandbox (it cannot write here).
	get() {
		(cd "$deps" && apt-get -q -o APT::Sandbox::User=root download "$@")
	}
	if ! get "${missing[@]}"; then
		echo "fetch-deps: download failed; refreshing the package lists and trying once more" >&2
		apt-get -q update
		get "${missing[@]}" || die "apt-get download failed for: ${missing[*]}"
	fi
fi

# Plain names, and the manifest the device checks.
manifest="$deps/MANIFEST.tmp"
: >"$manifest"
for p in "${PKGS[@]}"; do
	if [ ! -f "$deps/$p.deb" ]; then
		files=("$deps/${p}_"*.deb)
		if [ ${#files[@]} -ne 1 ] || [ ! -f "${files[0]}" ]; then
			die "want exactly one ${p}_*.deb in .deps after the download, found ${#files[@]}"
		fi
		mv "${files[0]}" "$deps/$p.deb"
	fi
	f="$deps/$p.deb"
	[ "$(dpkg-deb -f "$f" Package)" = "$p" ] || die "$f is not package $p"
	printf '%s %s %s %s\n' "$p" "$(dpkg-deb -f "$f" Version)" "$p.deb" \
		"$(sha256sum "$f" | cut -d' ' -f1)" >>"$manifest"
done
mv "$manifest" "$deps/MANIFEST"

# Nothing else in .deps: stray files would travel too.
extra=$(find "$deps" -mindepth 1 -maxdepth 1 ! -name MANIFEST -printf '%f\n' |
	grep -vxF -f <(cut -d' ' -f3 "$deps/MANIFEST") || true)
[ -z "$extra" ] || die "unexpected files in .deps (remove them, or run with --clean): $extra"

echo "fetch-deps: .deps/MANIFEST (package, version, file, sha256)"
awk '{printf "  %-22s %-28s %s\n", $1, $2, substr($4, 1, 16) "..."}' "$deps/MANIFEST"

mib() {
	awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'
}
bytes=$(du -cb "$deps"/*.deb "$deps/MANIFEST" | tail -n1 | cut -f1)
echo "fetch-deps: .deps holds $(($(wc -l <"$deps/MANIFEST") + 1)) files, $(mib "$bytes") MiB (limit $limit_mib MiB)"
[ "$bytes" -lt $((limit_mib * 1048576)) ] || die ".deps is over $limit_mib MiB"

# What travels with a device run: tracked files and untracked files git does
# not ignore, plus .deps (carried).  The device refuses more than 64 MiB.
tree=$({ git ls-files -z --cached --others --exclude-standard |
	xargs -0 -r stat -c %s -- 2>/dev/null || true; } | awk '{ s += $1 } END { print s + 0 }')
echo "fetch-deps: working tree $(mib "$tree") MiB + .deps $(mib "$bytes") MiB = $(mib $((tree + bytes))) MiB travels (device limit 64 MiB)"
[ $((tree + bytes)) -lt $((64 * 1048576)) ] || die "what travels is over 64 MiB"
