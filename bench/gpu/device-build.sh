#!/usr/bin/env bash
# device-build.sh: build cairn with CUDA on a lent GPU machine that lacks
# cairn's Debian packages (docs/gpu-session.md).
#
# Runs THERE, from the repository root, with .deps carried (the .deb files
# that bench/gpu/fetch-deps.sh downloads here).  It unpacks every .deb into a
# private prefix (never into /), points pkg-config, CMake, PATH and
# LD_LIBRARY_PATH at it, then configures and builds:
#
#   cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release
#         -DCAIRN_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90
#   cmake --build build-gpu -j $(nproc)
#
# It stops at the first broken step and says which.  It writes
# $CAIRN_KIT_PREFIX/env.sh: source it before running the tests or benches so
# they find the same libraries and tools (bench/gpu/device-run.sh does).
#
# The one change outside the prefix: the tests and `cairn train` read
# Fashion-MNIST from /usr/share/datasets/fashion-mnist, a path the tests
# hard-code, so when that path is missing (and writable) it becomes a symbolic
# link to the unpacked copy.  CAIRN_KIT_LINK_DATASET=0 turns that off.
#
# Settings (environment), for a local check as well as the device:
#   CAIRN_KIT_PREFIX      where the packages unpack (/tmp/cairn-deps)
#   CAIRN_KIT_BUILD_DIR   build folder (build-gpu)
#   CAIRN_KIT_JOBS        build jobs (nproc)
#   CAIRN_KIT_CUDA        ON or OFF (ON)
#   CAIRN_KIT_CUDA_ARCHS  CMAKE_CUDA_ARCHITECTURES (90: Hopper, H100/H200)
#   CAIRN_KIT_BUILD_TYPE  CMAKE_BUILD_TYPE (Release)
#   CAIRN_KIT_STRICT      1: fail when CMake took a dependency from outside
#                         the prefix (default 0: say so loudly, go on)
#   CAIRN_KIT_EXTRACT     auto, dpkg or python: how .deb files are unpacked
#                         (auto: dpkg-deb when present, else python3)
#
#   bench/gpu/device-build.sh              unpack, configure, build
#   bench/gpu/device-build.sh --no-build   unpack and write env.sh only
set -euo pipefail

no_build=0
case ${1:-} in
"") ;;
--no-build) no_build=1 ;;
*)
	echo "usage: bench/gpu/device-build.sh [--no-build]" >&2
	exit 2
	;;
esac

cd "$(dirname "$0")/../.."
root=$(pwd)
deps="$root/.deps"
prefix=${CAIRN_KIT_PREFIX:-/tmp/cairn-deps}
build=${CAIRN_KIT_BUILD_DIR:-build-gpu}
jobs=${CAIRN_KIT_JOBS:-$(nproc)}
cuda=${CAIRN_KIT_CUDA:-ON}
archs=${CAIRN_KIT_CUDA_ARCHS:-90}
build_type=${CAIRN_KIT_BUILD_TYPE:-Release}
strict=${CAIRN_KIT_STRICT:-0}
extract=${CAIRN_KIT_EXTRACT:-auto}
link_dataset=${CAIRN_KIT_LINK_DATASET:-1}
triplet=x86_64-linux-gnu
dataset_path=/usr/share/datasets/fashion-mnist

step="start"
t0=$(date +%s)
fail() {
	echo >&2
	echo "device-build: FAILED at step '$step': $*" >&2
	echo "device-build: see the lines above; nothing after this step ran" >&2
	trap - EXIT
	exit 1
}
# Any other exit before the end (a command that set -e stopped on) names
# the step and line too.
errline=""
on_exit() {
	local rc=$?
	[ "$rc" = 0 ] || echo "device-build: FAILED at step '$step' (exit $rc${errline:+, line $errline})" >&2
}
trap on_exit EXIT
trap 'errline=$LINENO' ERR
begin() {
	step=$1
	echo
	echo "== device-build [$(($(date +%s) - t0))s] $step"
}

# ---- 1. tools the machine must have ---------------------------------------
begin "tools"
case $prefix in
/*) ;;
*) fail "CAIRN_KIT_PREFIX must be an absolute path, not '$prefix'" ;;
esac
[[ $prefix =~ ^/[A-Za-z0-9._/-]+$ ]] || fail "CAIRN_KIT_PREFIX '$prefix' has characters other than [A-Za-z0-9._/-]"
case $prefix in
/ | /usr | /usr/ | /tmp | /tmp/) fail "CAIRN_KIT_PREFIX must be a private folder, not '$prefix'" ;;
esac
[ "$(uname -m)" = x86_64 ] || fail "this machine is $(uname -m); the carried packages are amd64"
for t in cmake sha256sum find sed; do
	command -v "$t" >/dev/null || fail "'$t' not found on PATH"
done
cc=${CC:-}
if [ -z "$cc" ]; then
	for c in cc gcc clang; do
		if command -v "$c" >/dev/null; then
			cc=$c
			break
		fi
	done
fi
[ -n "$cc" ] || fail "no C compiler (cc, gcc or clang) on PATH"
echo "cmake:      $(command -v cmake) ($(cmake --version | head -n1))"
echo "C compiler: $(command -v "$cc") ($("$cc" --version | head -n1))"
if command -v ninja >/dev/null; then
	generator=Ninja
	echo "ninja:      $(command -v ninja) ($(ninja --version))"
else
	generator="Unix Makefiles"
	command -v make >/dev/null || fail "neither ninja nor make on PATH"
	echo "ninja:      not found; using Unix Makefiles" >&2
fi
case $cuda in
ON)
	nvcc=""
	if [ -x /usr/local/cuda/bin/nvcc ]; then
		nvcc=/usr/local/cuda/bin/nvcc
	elif command -v nvcc >/dev/null; then
		nvcc=$(command -v nvcc)
	fi
	[ -n "$nvcc" ] || fail "CAIRN_KIT_CUDA=ON but no nvcc (not on PATH, not /usr/local/cuda/bin/nvcc)"
	echo "nvcc:       $nvcc ($("$nvcc" --version | grep -o 'release [0-9.]*' | head -n1))"
	;;
OFF) ;;
*) fail "CAIRN_KIT_CUDA must be ON or OFF, not '$cuda'" ;;
esac
case $extract in
auto)
	if command -v dpkg-deb >/dev/null; then extract=dpkg; else extract=python; fi
	;;
dpkg | python) ;;
*) fail "CAIRN_KIT_EXTRACT must be auto, dpkg or python, not '$extract'" ;;
esac
if [ "$extract" = dpkg ]; then
	command -v dpkg-deb >/dev/null || fail "CAIRN_KIT_EXTRACT=dpkg but dpkg-deb is not on PATH"
else
	command -v python3 >/dev/null || fail "no dpkg-deb and no python3 to unpack the .deb files"
fi
echo "unpacking with: $extract"

# ---- 2. the carried packages, as fetch-deps.sh listed them -----------------
begin "packages (.deps)"
[ -f "$deps/MANIFEST" ] ||
	fail ".deps/MANIFEST not found: run bench/gpu/fetch-deps.sh here first, and name .deps in the run call's carry"
n=0
while read -r pkg ver file sum; do
	[ -f "$deps/$file" ] || fail "$file ($pkg $ver) is listed in .deps/MANIFEST but missing"
	have=$(sha256sum "$deps/$file" | cut -d' ' -f1)
	[ "$have" = "$sum" ] || fail "$file: sha256 $have, want $sum (a broken copy; fetch again)"
	n=$((n + 1))
done <"$deps/MANIFEST"
echo "$n packages, checksums match"

# ---- 3. unpack into the prefix ---------------------------------------------
begin "unpack into $prefix"
if [ -e "$prefix" ]; then
	[ -f "$prefix/.cairn-kit" ] || [ -z "$(ls -A "$prefix")" ] ||
		fail "$prefix exists and is not a folder this script made; remove it or set CAIRN_KIT_PREFIX"
	rm -rf "$prefix"
fi
mkdir -p "$prefix"
: >"$prefix/.cairn-kit"

# python3 stand-in for dpkg-deb -x: a .deb is an ar archive whose data.tar.*
# member holds the files.
unpack_py() {
	python3 - "$1" "$2" <<'PY'
import io, sys, tarfile
deb, dest = sys.argv[1], sys.argv[2]
with open(deb, "rb") as f:
    data = f.read()
if data[:8] != b"!<arch>\n":
    sys.exit("%s: not a .deb (no ar header)" % deb)
off, found = 8, False
while off + 60 <= len(data):
    hdr = data[off:off + 60]
    name = hdr[:16].decode().strip().rstrip("/")
    size = int(hdr[48:58].decode().strip())
    off += 60
    if name.startswith("data.tar"):
        if name.endswith(".zst"):
            sys.exit("%s: %s is zstd, which python3 cannot read; use dpkg-deb" % (deb, name))
        with tarfile.open(fileobj=io.BytesIO(data[off:off + size]), mode="r:*") as t:
            if hasattr(tarfile, "fully_trusted_filter"):
                t.extractall(dest, filter="fully_trusted")  # checksummed above
            else:
                t.extractall(dest)
        found = True
    off += size + (size & 1)
if not found:
    sys.exit("%s: no data.tar member" % deb)
PY
}
while read -r pkg _ file _; do
	if [ "$extract" = dpkg ]; then
		dpkg-deb -x "$deps/$file" "$prefix" || fail "dpkg-deb -x $file failed"
	else
		unpack_py "$deps/$file" "$prefix" || fail "unpacking $file with python3 failed"
	fi
	echo "  $pkg"
done <"$deps/MANIFEST"
du -sh "$prefix" | sed 's/^/  size /'

# ---- 4. relocate: links and .pc files that name /usr ------------------------
begin "relocate to the prefix"
# Absolute links (zlib1g-dev's libz.so -> /lib/.../libz.so.1.2.13) point
# into the prefix instead.
nlinks=0
while IFS= read -r -d '' l; do
	t=$(readlink "$l")
	case $t in
	/*)
		ln -sfn "$prefix$t" "$l"
		[ -e "$l" ] || fail "link $l -> $prefix$t dangles after relocation"
		nlinks=$((nlinks + 1))
		;;
	esac
done < <(find "$prefix" -type l -print0)
echo "$nlinks absolute link(s) now point into the prefix"
# prefix=/usr, and cmocka's literal -L/usr/lib/... -I/usr/include.
pcdirs=()
for d in "$prefix/usr/lib/$triplet/pkgconfig" "$prefix/usr/lib/pkgconfig" "$prefix/usr/share/pkgconfig"; do
	[ -d "$d" ] && pcdirs+=("$d")
done
[ ${#pcdirs[@]} -gt 0 ] || fail "no pkgconfig folder in the prefix (a -dev package is missing from .deps)"
for d in "${pcdirs[@]}"; do
	for pc in "$d"/*.pc; do
		[ -f "$pc" ] || continue
		sed -i -E "s#(^[A-Za-z_]+=|-L|-I)/usr(/|\$|[[:space:]])#\\1$prefix/usr\\2#g" "$pc"
		if grep -nE '(=|-L|-I)/usr(/|$|[[:space:]])' "$pc"; then
			fail "$pc still names /usr after relocation (above)"
		fi
		echo "  $(basename "$pc"): $(grep -m1 -E '^prefix=|^Libs:' "$pc")"
	done
done
# The pkg-config program: pkgconf's, under both names.
[ -x "$prefix/usr/bin/pkgconf" ] || fail "pkgconf not unpacked (.deps lacks pkgconf-bin)"
[ -e "$prefix/usr/bin/pkg-config" ] || ln -s pkgconf "$prefix/usr/bin/pkg-config"

# ---- 5. run-time libraries --------------------------------------------------
# $prefix/lib-run holds links to the unpacked shared libraries, for
# LD_LIBRARY_PATH: the tools (protoc-c, pkgconf, hwloc-calc) have no RUNPATH,
# and cairn bench dlopens libopenblas.so.0.  Base libraries the machine
# already has (zlib, libudev, libgfortran, libquadmath) are left out, so that
# older Debian copies never shadow the machine's own for other programs.
begin "run-time libraries"
librun="$prefix/lib-run"
mkdir -p "$librun"
base_sonames="libz.so.1 libudev.so.1 libgfortran.so.5 libquadmath.so.0"
system_has() {
	# ldconfig -p: "	libz.so.1 (libc6,x86-64) => /lib/x86_64-linux-gnu/libz.so.1"
	{ ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null || true; } |
		grep -qE "^[[:space:]]+$1 \(libc6,x86-64"
}
skip_re="^$"
for s in $base_sonames; do
	if system_has "$s"; then
		echo "  $s: the machine's own"
		skip_re="$skip_re|^${s//./\\.}"
	else
		echo "  $s: the carried copy (the machine has none)"
	fi
done
for d in "$prefix/usr/lib/$triplet" "$prefix/lib/$triplet"; do
	[ -d "$d" ] || continue
	for f in "$d"/lib*.so.*; do
		[ -e "$f" ] || continue
		name=$(basename "$f")
		[[ $name =~ $skip_re ]] && continue
		ln -sfn "$f" "$librun/$name"
	done
done
blas="$prefix/usr/lib/$triplet/openblas-pthread/libopenblas.so.0"
[ -e "$blas" ] && ln -sfn "$blas" "$librun/libopenblas.so.0"
echo "  $(find "$librun" -mindepth 1 | wc -l) links in $librun"
# hwloc's plugins: none.  The carried libhwloc would otherwise load those of
# the machine's own hwloc (/usr/lib/x86_64-linux-gnu/hwloc), maybe of
# another release.  PCI discovery, which GPU locality needs, is part of
# libhwloc's Linux backend, not a plugin; cairn, hwloc-calc and hwloc-info
# all see the same topology.
mkdir -p "$prefix/hwloc-plugins"

# ---- 6. the environment, written for later steps ---------------------------
begin "environment ($prefix/env.sh)"
data_dir="$prefix$dataset_path"
[ -d "$data_dir" ] || fail "$data_dir missing (.deps lacks dataset-fashion-mnist)"
if [ -e "$dataset_path" ]; then
	echo "$dataset_path exists on this machine: left as it is"
elif [ "$link_dataset" = 1 ] && mkdir -p "$(dirname "$dataset_path")" 2>/dev/null &&
	ln -s "$data_dir" "$dataset_path" 2>/dev/null; then
	echo "$dataset_path -> $data_dir (the tests hard-code this path)"
else
	echo "device-build: warning: $dataset_path is missing and was not linked;" \
		"the dataset tests will skip; pass --data $data_dir to cairn" >&2
fi
[ -r "$dataset_path/train-images-idx3-ubyte.gz" ] && data_dir=$dataset_path
case $build in
/*) build_abs=$build ;;
*) build_abs="$root/$build" ;;
esac
pcpath=$(
	IFS=:
	echo "${pcdirs[*]}"
)
cat >"$prefix/env.sh" <<EOF
# Written by bench/gpu/device-build.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ): the
# environment in which cairn was built here.  Source it before running the
# tests or benches:  . $prefix/env.sh
export CAIRN_KIT_PREFIX='$prefix'
export CAIRN_KIT_BUILD_DIR='$build_abs'
export CAIRN_KIT_DATA_DIR='$data_dir'
case ":\$PATH:" in *':$prefix/usr/bin:'*) ;; *) export PATH='$prefix/usr/bin':"\$PATH" ;; esac
case ":\${LD_LIBRARY_PATH:-}:" in *':$librun:'*) ;; *) export LD_LIBRARY_PATH='$librun'"\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" ;; esac
export PKG_CONFIG_LIBDIR='$pcpath'
unset PKG_CONFIG_PATH
export PKG_CONFIG='$prefix/usr/bin/pkgconf'
export CMAKE_PREFIX_PATH='$prefix/usr'
export HWLOC_PLUGINS_PATH='$prefix/hwloc-plugins'
EOF
cat "$prefix/env.sh"
# shellcheck source=/dev/null
. "$prefix/env.sh"

# ---- 7. the carried tools run here -----------------------------------------
begin "carried tools"
for t in pkgconf protoc-c hwloc-calc hwloc-info; do
	p=$(command -v "$t") || fail "$t not on PATH after unpacking"
	case $p in "$prefix"/*) ;; *) fail "$t resolves to $p, not the prefix's" ;; esac
done
v=$(pkgconf --version 2>&1) || fail "pkgconf does not run: $v"
echo "pkgconf    $v"
v=$(protoc-c --version 2>&1) || fail "protoc-c does not run: $v"
echo "protoc-c   ${v%%$'\n'*}"
v=$(hwloc-info --version 2>&1) || fail "hwloc-info does not run: $v"
echo "hwloc-info $v"
for m in libsodium hwloc libprotobuf-c cmocka zlib; do
	v=$(pkgconf --modversion "$m" 2>&1) || fail "pkg-config cannot find $m: $v"
	echo "pkg-config $m $v: $(pkgconf --libs "$m")"
done

if [ "$no_build" = 1 ]; then
	trap - EXIT
	echo
	echo "device-build: prefix ready in $(($(date +%s) - t0)) s (--no-build):  . $prefix/env.sh"
	exit 0
fi

# ---- 8. configure -----------------------------------------------------------
begin "configure ($build)"
cfg=(-S "$root" -B "$build" -G "$generator" --fresh
	-DCMAKE_BUILD_TYPE="$build_type"
	-DCAIRN_CUDA="$cuda"
	-DPKG_CONFIG_EXECUTABLE="$prefix/usr/bin/pkgconf"
	-DCAIRN_PROTOC_C="$prefix/usr/bin/protoc-c"
	-DCMAKE_PREFIX_PATH="$prefix/usr")
[ "$cuda" = ON ] && cfg+=(-DCMAKE_CUDA_ARCHITECTURES="$archs")
echo "cmake ${cfg[*]}"
cmake "${cfg[@]}" || fail "cmake configure failed (above)"

# Which copy of each dependency CMake took.
begin "dependencies CMake chose"
outside=0
cache="$build/CMakeCache.txt"
for k in PKG_CONFIG_EXECUTABLE CAIRN_PROTOC_C \
	pkgcfg_lib_SODIUM_sodium SODIUM_INCLUDE_DIRS \
	pkgcfg_lib_HWLOC_hwloc HWLOC_INCLUDE_DIRS \
	pkgcfg_lib_PROTOBUFC_protobuf-c PROTOBUFC_INCLUDE_DIRS \
	pkgcfg_lib_CMOCKA_cmocka CMOCKA_INCLUDE_DIRS \
	ZLIB_LIBRARY_RELEASE ZLIB_INCLUDE_DIR; do
	v=$(grep -m1 -E "^$k:[A-Z]+=" "$cache" | cut -d= -f2- || true)
	case $v in
	"$prefix"/*) mark=prefix ;;
	*)
		mark=OUTSIDE
		outside=$((outside + 1))
		;;
	esac
	printf '  %-8s %-32s %s\n' "$mark" "$k" "${v:-(unset)}"
done
if [ "$outside" -gt 0 ]; then
	[ "$strict" = 1 ] && fail "$outside dependency path(s) outside $prefix (CAIRN_KIT_STRICT=1)"
	echo "device-build: WARNING: $outside dependency path(s) outside $prefix (above)" >&2
fi

# ---- 9. build -----------------------------------------------------------------
begin "build (-j $jobs)"
cmake --build "$build" -j "$jobs" || fail "the build failed (above)"

# ---- 10. what was built links to what --------------------------------------
begin "check the binaries"
bins=("$build/cairn")
for t in "$build"/tests/test_*; do
	[ -x "$t" ] && [ -f "$t" ] && bins+=("$t")
done
for b in "${bins[@]}"; do
	[ -x "$b" ] || fail "$b was not built"
	if ldd "$b" | grep 'not found'; then
		fail "$b: shared libraries not found (above)"
	fi
done
echo "${#bins[@]} binaries, every shared library found; cairn's:"
ldd "$build/cairn" | grep -E 'sodium|hwloc|protobuf-c|libz|udev' | sed 's/^[[:space:]]*/  /' || true
# Headers: none of the dependencies' headers from /usr/include.
if [ "$generator" = Ninja ]; then
	ninja -C "$build" -t deps >"$prefix/header-deps.txt"
	leaked=$(grep -cE '^[[:space:]]+/usr/include/(sodium|hwloc|protobuf-c|cmocka|zlib\.h|zconf\.h)' "$prefix/header-deps.txt" || true)
	used=$(grep -cE "^[[:space:]]+$prefix/" "$prefix/header-deps.txt" || true)
	echo "headers: $used include(s) from the prefix, $leaked from /usr/include"
	if [ "$leaked" -gt 0 ]; then
		[ "$strict" = 1 ] && fail "dependency headers came from /usr/include (CAIRN_KIT_STRICT=1)"
		echo "device-build: WARNING: dependency headers came from /usr/include" >&2
	fi
fi

trap - EXIT
echo
echo "device-build: OK in $(($(date +%s) - t0)) s: $build_abs (CUDA=$cuda, archs $archs)"
echo "device-build: before tests or benches:  . $prefix/env.sh"
