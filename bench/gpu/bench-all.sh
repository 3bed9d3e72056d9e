#!/usr/bin/env bash
# cairn's GPU figures beside PyTorch's on the same machine (issues 3 and 5).
#
#   bash bench/gpu/bench-all.sh [CAIRN [OUTDIR]]
#
# Run from the repository root on a machine with a GPU, after a CUDA build:
# CAIRN defaults to ./build-gpu/cairn, OUTDIR to $OUT, else a new temporary
# folder.  It runs, each under `timeout` and within an overall budget
# ($BENCH_ALL_BUDGET seconds, default 270, so the whole script stays under
# 5 minutes even when a step hangs):
#   cairn info --json
#   cairn bench stream --device gpu --json      device-to-device copy
#   cairn bench pcie --device gpu --json        host-device copies
#   cairn bench gemm --device gpu --size 8192 --json
#                                               exact SGEMM, cuBLAS SGEMM
#                                               (TF32 off), cuBLAS BF16
#   cairn bench hash --device gpu --json
#   cairn bench train --device gpu --json       the reference job's step
#   cairn bench train --device gpu --micro 1 --json
#                                               one batch of 256, as PyTorch
#   python3 bench/gpu_reference.py --json       PyTorch's figures
#   and, when PyTorch's libcublas is another version than the one cairn
#   loaded, cairn bench gemm again with CAIRN_CUBLAS set to PyTorch's.
# The training steps read Fashion-MNIST from $CAIRN_DATA_DIR (default
# /usr/share/datasets/fashion-mnist, Debian's dataset-fashion-mnist; cairn's
# step needs it, PyTorch's falls back to random data without it).
# A failing step is reported and the others still run.  Then it writes two
# files into OUTDIR and prints the table:
#   bench-all.json  every step's command, exit status, seconds, JSON output
#                   and the tail of its stderr
#   bench-all.md    the side-by-side table: each cairn figure, PyTorch's,
#                   the ratio, and the issues' targets (device-to-device copy
#                   and the vendor GEMMs within 5% of PyTorch's; cairn's GPU
#                   training at least PyTorch's eager FP32 samples/s)
# Exit status: 0 every step ran, 1 a step failed (the files say which),
# 2 bad usage (no cairn binary, no python3).
set -u

cairn=${1:-./build-gpu/cairn}
out=${2:-${OUT:-}}
budget=${BENCH_ALL_BUDGET:-270}
data=${CAIRN_DATA_DIR:-/usr/share/datasets/fashion-mnist}

if [ ! -x "$cairn" ]; then
	echo "bench-all: $cairn is not an executable; build cairn with CUDA" \
		"first (cmake -S . -B build-gpu && cmake --build build-gpu)" >&2
	exit 2
fi
if ! command -v python3 >/dev/null; then
	echo "bench-all: python3 is needed for PyTorch's figures and the" \
		"table" >&2
	exit 2
fi
if [ -z "$out" ]; then
	out=$(mktemp -d /tmp/cairn-bench-all.XXXXXX) || exit 2
fi
mkdir -p "$out" || exit 2
work=$(mktemp -d /tmp/cairn-bench-all-work.XXXXXX) || exit 2
trap 'rm -rf "$work"' EXIT
start=$SECONDS
steps=()

# step NAME LIMIT CMD...: runs CMD under timeout (at most LIMIT seconds and
# what is left of the budget); stdout, stderr, exit status and seconds go
# to $work/NAME.*.
step() {
	local name=$1 limit=$2 left rc t0
	shift 2
	steps+=("$name")
	printf '%s\n' "$*" >"$work/$name.cmd"
	left=$((budget - (SECONDS - start)))
	if [ "$left" -lt 15 ]; then
		echo "bench-all: [$name] skipped: the ${budget} s budget is spent" >&2
		echo "skipped: the ${budget} s budget of bench-all.sh was spent" \
			>"$work/$name.err"
		echo 124 >"$work/$name.rc"
		echo 0 >"$work/$name.secs"
		: >"$work/$name.out"
		return
	fi
	[ "$limit" -gt "$left" ] && limit=$left
	echo "bench-all: [$name] $* (limit ${limit} s)" >&2
	t0=$SECONDS
	timeout --kill-after=10 "$limit" "$@" >"$work/$name.out" \
		2>"$work/$name.err"
	rc=$?
	echo "$rc" >"$work/$name.rc"
	echo $((SECONDS - t0)) >"$work/$name.secs"
	if [ "$rc" -ne 0 ]; then
		if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
			echo "timed out after ${limit} s" >>"$work/$name.err"
		fi
		echo "bench-all: [$name] FAILED (exit $rc): $(tail -n 2 "$work/$name.err")" >&2
	fi
}

step info 30 "$cairn" -q info --json
step stream 60 "$cairn" -q bench stream --device gpu --json
step pcie 60 "$cairn" -q bench pcie --device gpu --json
step gemm 120 "$cairn" -q bench gemm --device gpu --size 8192 --json
step hash 60 "$cairn" -q bench hash --device gpu --json
step train 90 "$cairn" -q bench train --device gpu --data "$data" --json
step train_micro1 60 "$cairn" -q bench train --device gpu --micro 1 \
	--data "$data" --json
step pytorch 150 python3 "$(dirname "$0")/../gpu_reference.py" \
	--data "$data" --json

# The vendor GEMMs are compared with PyTorch's matmul: with the same
# cuBLAS when the two differ in version.
torch_cublas=$(python3 - "$work/pytorch.out" "$work/gemm.out" <<'PY' 2>/dev/null
import json, re, sys
try:
    t = json.load(open(sys.argv[1]))["meta"]["cublas"]
    g = json.load(open(sys.argv[2])).get("reference") or ""
    m = re.search(r"cuBLAS (\d+\.\d+\.\d+)", g)
    if t.get("path") and t.get("version") and (not m or m.group(1) != t["version"]):
        print(t["path"])
except Exception:
    pass
PY
)
if [ -n "$torch_cublas" ]; then
	step gemm_torch_cublas 120 env CAIRN_CUBLAS="$torch_cublas" \
		"$cairn" -q bench gemm --device gpu --size 8192 --json
fi

python3 - "$work" "$out" "$cairn" "${steps[@]}" <<'PY'
import datetime, json, os, sys

work, out, cairn, names = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]


def read(name, ext):
    try:
        with open(os.path.join(work, "%s.%s" % (name, ext))) as f:
            return f.read()
    except OSError:
        return ""


steps = {}
for n in names:
    text = read(n, "out")
    try:
        parsed = json.loads(text) if text.strip() else None
    except ValueError:
        parsed = None
    steps[n] = {"cmd": read(n, "cmd").strip(),
                "exit": int(read(n, "rc").strip() or -1),
                "seconds": int(read(n, "secs").strip() or 0),
                "json": parsed,
                "stdout": None if parsed is not None else text[-4000:],
                "stderr_tail": "\n".join(read(n, "err").splitlines()[-20:])}
when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
raw = {"tool": "bench/gpu/bench-all.sh", "date": when, "cairn": cairn,
       "steps": steps}
with open(os.path.join(out, "bench-all.json"), "w") as f:
    json.dump(raw, f, indent=1)
    f.write("\n")


def js(name):
    return (steps.get(name) or {}).get("json") or {}


def rows(name):
    return [r for r in js(name).get("results", []) if isinstance(r, dict)]


def first(name, pred):
    for r in rows(name):
        if r.get("value") is not None and pred(r):
            return r
    return None


def torch_val(rid):
    r = first("pytorch", lambda r: r.get("id") == rid)
    return r["value"] if r else None


table = []  # (figure, unit, cairn, pytorch, target, kind); kind: within, atleast, info


def add(figure, unit, c, t, kind, target=""):
    table.append((figure, unit, c, t, kind, target))


st = first("stream", lambda r: r["name"].startswith("device-to-device"))
d2d = torch_val("d2d_copy")
add("device-to-device copy, cairn's kernel (read + write)", "GB/s",
    st and st["value"], d2d, "within",
    "within 5% of PyTorch's copy (issue 5)")
add("device-to-device copy, cudaMemcpyDeviceToDevice", "GB/s",
    st and st.get("reference_value"), d2d, "info")
for rid, word in (("h2d", "host-to-device"), ("d2h", "device-to-host")):
    r = first("pcie", lambda r: r["name"].startswith(word) and
              r.get("device", "").startswith("gpu0:"))
    tv = torch_val(rid)
    add("%s, pinned on the GPU's NUMA node (cairn pcie)" % word, "GB/s",
        r and r["value"], tv, "info")
    add("%s, pinned at the default placement (cairn pcie's reference)"
        % word, "GB/s", r and r.get("reference_value"), tv, "info")
for gname, label in (("gemm", ""), ("gemm_torch_cublas",
                                     ", with PyTorch's libcublas")):
    g = js(gname)
    if not g:
        if gname == "gemm":
            add("cuBLAS SGEMM 8192, FP32, TF32 off", "GFLOP/s", None,
                torch_val("matmul_fp32"), "within",
                "within 5% of torch.matmul (issue 5)")
        continue
    add("%s%s" % (g.get("reference") or "cuBLAS SGEMM (FP32, TF32 off)",
                  label) + ", %s" % g.get("size"), "GFLOP/s",
        g.get("reference_gflops"), torch_val("matmul_fp32"), "within",
        "within 5% of torch.matmul FP32, TF32 off (issue 5)")
    add("%s%s" % (g.get("vendor_bf16") or "cuBLAS BF16 GEMM", label) +
        ", %s" % g.get("size"), "TFLOP/s", g.get("vendor_bf16_tflops"),
        torch_val("matmul_bf16"), "within",
        "within 5% of torch.matmul BF16 (issue 5)")
    if gname == "gemm":
        add("cairn exact-v1 SGEMM 8192 (bit-exact: %s)"
            % g.get("bit_exact"), "GFLOP/s", g.get("exact_gflops"),
            torch_val("matmul_fp32"), "info")
tr = js("train")
add("training step, batch 256 in %s micro-batches (the reference job's)"
    % tr.get("micro", "?"), "samples/s", tr.get("samples_per_second"),
    torch_val("train"), "atleast",
    "at least PyTorch's eager FP32 (issue 3)")
tr1 = js("train_micro1")
add("training step, batch 256 in 1 micro-batch", "samples/s",
    tr1.get("samples_per_second"), torch_val("train"), "info")


def fmt(v):
    if v is None:
        return "n/a"
    return "%.1f" % v if v >= 100 else "%.3g" % v


info = js("info")
gpus = info.get("gpus") or []
gpu = "; ".join("%s (NUMA node %s)" % (g.get("name"), g.get("numa_node"))
                for g in gpus if isinstance(g, dict)) or "unknown"
meta = js("pytorch").get("meta") or {}
lines = ["# cairn GPU figures beside PyTorch's", "",
         "Measured by `bench/gpu/bench-all.sh` on %s." % when, "",
         "- GPU: %s" % gpu,
         "- cairn: `%s`" % cairn,
         "- PyTorch: %s, CUDA %s, its cuBLAS %s" % (
             meta.get("torch", "n/a"), meta.get("cuda", "n/a"),
             (meta.get("cublas") or {}).get("version", "unknown")),
         "",
         "| figure | unit | cairn | PyTorch | ratio | target | met |",
         "| --- | --- | ---: | ---: | ---: | --- | --- |"]
for figure, unit, c, t, kind, target in table:
    ratio = c / t if c is not None and t else None
    if kind == "info" or ratio is None:
        met = "" if kind == "info" else "not measured"
    elif kind == "within":
        met = "yes" if abs(ratio - 1.0) <= 0.05 else "NO"
    else:
        met = "yes" if ratio >= 1.0 else "NO"
    lines.append("| %s | %s | %s | %s | %s | %s | %s |" % (
        figure, unit, fmt(c), fmt(t),
        "%.3f" % ratio if ratio is not None else "n/a", target, met))
hr = rows("hash")
if hr:
    lines += ["", "cairn's GPU tensor roots (no PyTorch counterpart):", "",
              "| figure | device | GB/s | reference | GB/s | ratio |",
              "| --- | --- | ---: | --- | ---: | ---: |"]
    for r in hr:
        lines.append("| %s | %s | %s | %s | %s | %s |" % (
            r.get("name"), r.get("device"), fmt(r.get("value")),
            r.get("reference"), fmt(r.get("reference_value")),
            "%.3f" % r["ratio"] if r.get("ratio") is not None else "n/a"))
skipped = [(n, js(n).get("gpu_skipped")) for n in names if js(n).get("gpu_skipped")]
bad = [n for n in names if steps[n]["exit"] != 0]
lines += ["", "Steps (command, exit status, seconds):", ""]
for n in names:
    s = steps[n]
    lines.append("- `%s`: exit %d, %d s%s" % (
        s["cmd"], s["exit"], s["seconds"],
        "" if s["exit"] == 0 else ": " + (s["stderr_tail"].splitlines()
                                           or ["(no message)"])[-1]))
for n, why in skipped:
    lines.append("- %s skipped its GPU part: %s" % (n, why))
tt = first("pytorch", lambda r: r.get("id") == "train")
if tt and tt.get("data") != "fashion-mnist":
    lines.append("- PyTorch's training step read %s data, not Fashion-MNIST"
                 % tt.get("data"))
lines.append("")
with open(os.path.join(out, "bench-all.md"), "w") as f:
    f.write("\n".join(lines))
print("\n".join(lines))
print("bench-all: wrote %s and %s" % (os.path.join(out, "bench-all.json"),
                                      os.path.join(out, "bench-all.md")))
sys.exit(1 if bad else 0)
PY
