#!/bin/sh
# Installs the Debian 12 packages cairn builds with, when any is missing.
# Runs as root (or through sudo); prints what it installs.
set -eu

PKGS="build-essential cmake pkg-config libuv1-dev libsodium-dev \
libprotobuf-c-dev protobuf-c-compiler libhwloc-dev hwloc libcmocka-dev \
libsqlite3-dev zlib1g-dev libopenblas0-pthread dataset-fashion-mnist"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "cairn: installing missing packages:$missing" >&2
if [ "$(id -u)" = 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1; then
	SUDO="sudo"
else
	echo "cairn: missing packages:$missing; run 'make' as root, or install them with apt-get" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
