#!/usr/bin/env bash
# cairn's training step beside PyTorch's, same model, batch, optimizer,
# data and thread count, in one run (issue 3's speed target).
#
#   bench/train_vs_pytorch.sh [THREADS] [BUILD_DIR] [RUNS]
#
# Needs python3-torch (Debian: apt-get install python3-torch); prints what
# it ran and the ratio.  With RUNS > 1 the two alternate RUNS times (cairn
# first in odd runs, PyTorch first in even ones, so that neither always
# meets the host in the same state) and the last line is the median ratio
# with the range: on a shared machine one pair can be off by 30 %.
# Exit 77 when torch is not importable.
set -euo pipefail
threads=${1:-$(nproc)}
build=${2:-build}
runs=${3:-1}
cd "$(dirname "$0")/.."

case $runs in
'' | *[!0-9]* | 0)
	echo "train_vs_pytorch: RUNS '$runs': want a count of 1 or more" >&2
	exit 2
	;;
esac
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

run_cairn() {
	echo "\$ $build/cairn -q bench train --device cpu --threads $threads --json"
	cairn_json=$("$build/cairn" -q bench train --device cpu --threads "$threads" --json)
	echo "$cairn_json"
}
run_torch() {
	echo "\$ $py bench/train_pytorch.py --device cpu --threads $threads"
	torch_json=$("$py" bench/train_pytorch.py --device cpu --threads "$threads")
	echo "$torch_json"
}

ratios=()
for ((r = 1; r <= runs; r++)); do
	if ((r % 2)); then
		run_cairn
		run_torch
	else
		run_torch
		run_cairn
	fi
	line=$("$py" - "$cairn_json" "$torch_json" <<'PY'
import json, sys
c, t = json.loads(sys.argv[1]), json.loads(sys.argv[2])
r = c["samples_per_second"] / t["samples_per_second"]
print("cairn %.0f samples/s, PyTorch %s %.0f samples/s, ratio %.2f "
      "(threads %d, batch %d)" % (c["samples_per_second"], t["version"],
      t["samples_per_second"], r, c["threads"], c["batch"]))
print("%.6f" % r)  # unrounded, for the summary
PY
)
	echo "$line" | head -n 1
	ratios+=("$(echo "$line" | tail -n 1)")
done
if ((runs > 1)); then
	"$py" - "${ratios[@]}" <<'PY'
import statistics, sys
r = sorted(float(x) for x in sys.argv[1:])
# the counts from the unrounded ratios (2.998 prints as 3.00 but is not)
print("median ratio %.3f over %d alternating runs (range %.3f to %.3f; "
      "%d of %d at or above 3.000)" % (statistics.median(r), len(r), r[0],
      r[-1], sum(x >= 3.0 for x in r), len(r)))
PY
fi
