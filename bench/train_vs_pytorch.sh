#!/usr/bin/env bash
# cairn's training step beside PyTorch's, same model, batch, optimizer,
# data and thread count, in one run (issue 3's speed target).
#
#   bench/train_vs_pytorch.sh [THREADS] [BUILD_DIR]
#
# Needs python3-torch (Debian: apt-get install python3-torch); prints what
# it ran and the ratio.  Exit 77 when torch is not importable.
set -euo pipefail
threads=${1:-$(nproc)}
build=${2:-build}
cd "$(dirname "$0")/.."

py=""
for c in /usr/bin/python3 python3; do
	if command -v "$c" >/dev/null && "$c" -c 'import torch' 2>/dev/null; then
		py=$c
		break
	fi
done
if [ -z "$py" ]; then
	echo "train_vs_pytorch: torch is not importable; apt-get install python3-torch" >&2
	exit 77
fi

echo "\$ $build/cairn -q bench train --device cpu --threads $threads --json"
cairn_json=$("$build/cairn" -q bench train --device cpu --threads "$threads" --json)
echo "$cairn_json"
echo "\$ $py bench/train_pytorch.py --device cpu --threads $threads"
torch_json=$("$py" bench/train_pytorch.py --device cpu --threads "$threads")
echo "$torch_json"
"$py" - "$cairn_json" "$torch_json" <<'PY'
import json, sys
c, t = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print("cairn %.0f samples/s, PyTorch %s %.0f samples/s, ratio %.2f "
      "(threads %d, batch %d)" % (c["samples_per_second"], t["version"],
      t["samples_per_second"], c["samples_per_second"] / t["samples_per_second"],
      c["threads"], c["batch"]))
PY
