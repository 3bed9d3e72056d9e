#!/usr/bin/env bash
# device-run.sh: one lent-GPU call's whole work (docs/gpu-session.md).
#
# Runs THERE, on the GPU machine, from the repository root, with .deps
# carried:  bash bench/gpu/device-run.sh
#
#   1. bench/gpu/device-build.sh: unpack .deps, build build-gpu (CUDA, sm_90)
#   2. nvidia-smi (a read-only query), cairn info, cairn info --json
#   3. ctest -L gpu, and the transport test_comm finds (NCCL or host)
#   4. two short training jobs (AdamW, and data-parallel SGD) on the CPU and
#      the GPU (their roots must match),
#      then cairn train --job fmnist-mlp --device gpu --json: its final model
#      root against the CPU's known one (MATCH or MISMATCH)
#   5. bash bench/gpu/bench-all.sh (GPU suites beside PyTorch), when it exists
#   6. one round with --commits sync and with --commits background, and a
#      short job's bundles written both ways (the same files: SAME)
#   7. cairn bench train --device gpu with each GEMM block shape forced,
#      and once with the training set uploaded batch by batch
#   8. cairn bench --json; cairn bench gemm --device gpu --size 8192 --json
#   9. the whole ctest -j 8
# in that order, most needed first: what the budget cuts is the end.
#
# Every step runs under `timeout`, within one overall budget (the device
# stops a command at 10 minutes); a failing step is reported and the next
# one still runs.  Full output goes to files under $OUT (at most 8 come
# back from the device), and the script ends with a short summary table.
# Where OUT is unset (a run on this side), a temporary folder is used.
#
# Files under $OUT:
#   build.log        device-build.sh's whole output
#   run.log          nvidia-smi, cairn info (text and JSON), the commands'
#                    stderr, the root comparisons, bench gemm's JSON,
#                    bench-all.sh's printed output
#   ctest.log        both ctest runs
#   train-gpu.json   cairn train's JSON (the default job)
#   bench.json       cairn bench --json (every suite)
#   summary.md       the table and the key figures
#   bench-all.md, bench-all.json
#                    what bench-all.sh wrote (its printed output is in
#                    run.log); packed as bench-all.tar.gz instead if they
#                    would make more than 8 files
# cairn bench gemm's JSON is in run.log (and in bench-all.json).
#
# Settings (environment):
#   CAIRN_KIT_BUDGET_S    seconds for the whole script (570)
#   CAIRN_KIT_DEVICE      gpu (default), or cpu for a dry run without a GPU
#   CAIRN_KIT_TRAIN_TIMEOUT_S  the default job's limit (240; within the budget)
#   CAIRN_KIT_BUILD_DIR and the other CAIRN_KIT_* of device-build.sh
set -euo pipefail

cd "$(dirname "$0")/../.."
root=$(pwd)
t0=$(date +%s)
budget=${CAIRN_KIT_BUDGET_S:-570}
deadline=$((t0 + budget))
device=${CAIRN_KIT_DEVICE:-gpu}
build=${CAIRN_KIT_BUILD_DIR:-build-gpu}
export CAIRN_KIT_BUILD_DIR=$build
cairn="$build/cairn"

# The default job's final model root on every CPU and on ref
# (bench/results/2026-11-22-cpu-train-job.md), and the training split's root.
cpu_root=0b8778ca31e6cb8455fa829750c97d0615a1e24e18bef8ff3018ad92e8b98452
data_root=849f462ec9209286498e4a8deee4644fdc85161eff6cf2194de8c0f63b07b3f1

# What the summary reports, whatever stops early.
gpu_name="(no nvidia-smi)"
verdict="not run"
short_verdict="not run"
sgd_verdict="not run"
names=()
states=()
secs=()
notes=()

if [ -z "${OUT:-}" ]; then
	OUT=$(mktemp -d "${TMPDIR:-/tmp}/cairn-device-run.XXXXXX")
	echo "device-run: OUT is unset; writing the logs to $OUT"
fi
mkdir -p "$OUT"
work=$(mktemp -d "${TMPDIR:-/tmp}/cairn-device-work.XXXXXX")

# ---- summary ----------------------------------------------------------------
# Written at exit, also when something above stopped the script early.
bench_table_py='
import json, sys
r = json.load(open(sys.argv[1]))
print("| suite | name | device | value | unit | reference | ratio |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for x in r.get("results", []):
    print("| %s | %s | %s | %s | %s | %s | %s |" % (
        x.get("suite"), x.get("name"), x.get("device"), x.get("value"),
        x.get("unit"), x.get("reference_value"), x.get("ratio")))
for x in r.get("skipped") or []:
    print("| %s | skipped | | | | | %s |" % (x.get("suite"), x.get("why")))
'
summary_done=0
summary() {
	local total i
	[ "$summary_done" = 0 ] || return 0
	summary_done=1
	set +e
	total=$(($(date +%s) - t0))
	{
		echo "# device-run $(date -u +%Y-%m-%d)"
		echo
		echo "- machine: $gpu_name; $(nproc) cpus; $(uname -r)"
		if command -v git >/dev/null && git -C "$root" rev-parse HEAD >/dev/null 2>&1; then
			echo "- tree: $(git -C "$root" rev-parse --short HEAD), $(git -C "$root" status --porcelain | wc -l) changed or new file(s)"
		else
			echo "- tree: a copy without .git"
		fi
		echo "- $device final model root of the default job: $verdict (CPU: \`${cpu_root:0:16}…\`)"
		echo "- short job, cpu against $device: $short_verdict"
		echo "- short SGD job, cpu against $device: $sgd_verdict"
		echo "- whole run: ${total}s of a ${budget}s budget"
		echo
		echo "| step | state | s | note |"
		echo "| --- | --- | --- | --- |"
		for i in "${!names[@]}"; do
			echo "| ${names[$i]} | ${states[$i]} | ${secs[$i]} | ${notes[$i]} |"
		done
		if [ -s "$OUT/bench.json" ] && command -v python3 >/dev/null; then
			echo
			echo "## cairn bench"
			echo
			python3 -c "$bench_table_py" "$OUT/bench.json" || echo "(bench.json did not parse)"
		fi
	} >"$OUT/summary.md"

	echo
	echo "==== device-run summary (${total}s; files in $OUT)"
	printf '%-24s %-9s %5s  %s\n' STEP STATE SEC NOTE
	for i in "${!names[@]}"; do
		printf '%-24s %-9s %5s  %s\n' "${names[$i]}" "${states[$i]}" "${secs[$i]}" "${notes[$i]:0:110}"
	done
	echo "short job cpu=$device: $short_verdict; short SGD job: $sgd_verdict;  default job $device final model root: $verdict"
	find "$OUT" -maxdepth 1 -type f -empty -delete
	find "$OUT" -maxdepth 1 -type f -printf '  %-18f %10s bytes\n' | sort
}

on_exit() {
	local rc=$?
	summary
	rm -rf "$work"
	[ "$rc" = 0 ] || echo "device-run: stopped early (exit $rc); the summary above is what ran" >&2
}
trap on_exit EXIT

runlog="$OUT/run.log"
: >"$runlog"

# ---- steps --------------------------------------------------------------
record() { # NAME STATE SECONDS NOTE
	names+=("$1")
	states+=("$2")
	secs+=("$3")
	notes+=("$4")
}

# step NAME MAX_S STDOUT_FILE STDERR_FILE CMD...: runs CMD under timeout,
# appending (or, for a .json, writing) its output; sets step_rc.  The step's
# combined output is also in $work/step.out for the caller's notes.
step_rc=0
step() {
	local name=$1 max=$2 out=$3 err=$4 now left t start rc state
	shift 4
	now=$(date +%s)
	left=$((deadline - now - 5))
	if [ "$left" -lt 15 ]; then
		echo "== [$((now - t0))s] $name: SKIPPED, the time budget is spent"
		record "$name" SKIP 0 "no time left (budget ${budget}s)"
		[ "$out" = "$err" ] || : >"$out"
		: >>"$err"
		: >"$work/step.out"
		step_rc=125
		return 0
	fi
	t=$max
	[ "$t" -le "$left" ] || t=$left
	echo "== [$((now - t0))s] $name (timeout ${t}s) -> $(basename "$out")"
	printf '\n==== %s [%ss]: %s (timeout %ss)\n' "$name" "$((now - t0))" "$*" "$t" >>"$err"
	start=$now
	set +e
	if [ "$out" = "$err" ]; then
		timeout --kill-after=10 "$t" "$@" >"$work/step.out" 2>&1
		rc=$?
		cat "$work/step.out" >>"$out"
	else
		timeout --kill-after=10 "$t" "$@" >"$out" 2>"$work/step.err"
		rc=$?
		cat "$work/step.err" >>"$err"
		cat "$out" "$work/step.err" >"$work/step.out"
	fi
	set -e
	case $rc in
	0) state=PASS ;;
	124 | 137) state=TIMEOUT ;;
	*) state=FAIL ;;
	esac
	echo "   $state (exit $rc, $(($(date +%s) - start))s)"
	if [ "$rc" != 0 ]; then
		echo "   --- last lines (all of it in $(basename "$err")):"
		tail -n 12 "$work/step.out" | cut -c1-200 | sed 's/^/   | /'
	fi
	record "$name" "$state" "$(($(date +%s) - start))" "exit $rc"
	step_rc=$rc
	return 0
}

# note TEXT: replaces the last step's note (a skipped step keeps its own).
note() {
	[ "${states[${#states[@]} - 1]}" = SKIP ] || notes[${#notes[@]} - 1]=$1
}
# restate STATE: replaces the last step's state (a skipped step stays SKIP).
restate() {
	[ "${states[${#states[@]} - 1]}" = SKIP ] || states[${#states[@]} - 1]=$1
}
# json_get FILE KEY: a top-level string or number from one-object JSON.
json_get() {
	python3 -c 'import json,sys
try:
    v = json.load(open(sys.argv[1]))
    for k in sys.argv[2].split("."):  # a.b: key b of object a
        v = v.get(k, "")
except Exception:
    v = ""
print(v)' "$1" "$2" 2>/dev/null ||
		grep -o "\"$2\":[[:space:]]*\"*[^,\"}]*" "$1" | head -n1 | sed 's/.*:[[:space:]]*"*//'
}

echo "device-run: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname), $(nproc) cpus, budget ${budget}s, device $device"

# ---- 1. build -------------------------------------------------------------
step build 360 "$OUT/build.log" "$OUT/build.log" bash bench/gpu/device-build.sh
built=0
if [ "$step_rc" = 0 ]; then
	built=1
	prefix=${CAIRN_KIT_PREFIX:-/tmp/cairn-deps}
	# shellcheck source=/dev/null
	. "$prefix/env.sh"
	note "$(grep -m1 'device-build: OK' "$OUT/build.log" | sed 's/^device-build: //')"
else
	note "$(grep -m1 'FAILED at step' "$OUT/build.log" | sed 's/^device-build: //' | cut -c1-90)"
fi
# need_build NAME: records a skip when the build failed.
need_build() {
	[ "$built" = 1 ] && return 0
	echo "== $1: SKIPPED, no build"
	record "$1" SKIP 0 "no build"
	return 1
}

# ---- 2. the machine ---------------------------------------------------------
if command -v nvidia-smi >/dev/null; then
	step nvidia-smi 30 "$runlog" "$runlog" nvidia-smi
	step nvidia-smi-query 30 "$work/smi.csv" "$runlog" nvidia-smi \
		--query-gpu=name,driver_version,memory.total,clocks.max.sm,power.limit,pci.bus_id \
		--format=csv,noheader
	cat "$work/smi.csv" >>"$runlog"
	gpu_name=$(head -n1 "$work/smi.csv" | cut -d, -f1-2)
	note "$gpu_name"
else
	record nvidia-smi FAIL 0 "nvidia-smi not on PATH"
fi
if need_build "cairn info"; then
	step "cairn info" 60 "$runlog" "$runlog" "$cairn" info
	step "cairn info --json" 60 "$work/info.json" "$runlog" "$cairn" info --json
	cat "$work/info.json" >>"$runlog"
	echo >>"$runlog"
fi

# ---- 3. tests -----------------------------------------------------------------
# NCCL (kernels/comm.h loads libnccl.so.2 at run time): where the system
# has none, PyTorch's wheel may carry one (nvidia/nccl/lib).
if ! ldconfig -p 2>/dev/null | grep -q 'libnccl\.so\.2'; then
	nccl_dir=$(python3 -c 'import nvidia.nccl, os; print(os.path.join(list(nvidia.nccl.__path__)[0], "lib"))' 2>/dev/null || true)
	if [ -n "$nccl_dir" ] && [ -e "$nccl_dir/libnccl.so.2" ]; then
		export LD_LIBRARY_PATH="$nccl_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
		echo "device-run: libnccl.so.2 from $nccl_dir" >>"$runlog"
	fi
fi
# ctest_note: "N passed, F failed, S skipped of T" from the step's output.
ctest_note() {
	local line skipped
	line=$(grep -E 'tests passed, [0-9]+ tests failed out of [0-9]+' "$work/step.out" | tail -n1 || true)
	skipped=$(grep -c '\*\*\*Skipped' "$work/step.out" || true)
	echo "${line:-no ctest summary}; skipped $skipped"
}
if need_build "ctest -L gpu"; then
	step "ctest -L gpu" 180 "$OUT/ctest.log" "$OUT/ctest.log" \
		ctest --test-dir "$build" -L gpu --output-on-failure
	note "$(ctest_note)"
	# A skipped GPU test on a GPU machine means the GPU was not usable.
	if [ "$device" = gpu ] && [ "$step_rc" = 0 ] && grep -q '\*\*\*Skipped' "$work/step.out"; then
		restate SKIPPED
	fi
fi
# Which transport a rig's GPUs would use here (NCCL or host memory, and
# why): test_comm prints it; a clique of one GPU moves through NCCL too.
if [ "$device" = gpu ] && need_build "transport"; then
	step transport 60 "$work/comm.out" "$runlog" "$build/tests/test_comm" --backend cuda
	cat "$work/comm.out" >>"$runlog"
	note "$(grep -m1 'transport on' "$work/comm.out" | sed 's/^ *//' | cut -c1-90)"
fi
# ---- 4. training: short jobs on both sides, then the default job --------
# Each short job costs seconds on either side, so a verdict comes back even
# when the default job runs out of time: AdamW (2 rounds of 2 tasks of 20
# steps), and plain data-parallel SGD (H = 1, 20 rounds), the path that
# holds v at +0 and never hashes it.
short=(train --job fmnist-mlp --rounds 2 --tasks 2 --inner-steps 20
	--checkpoint-every 10 --test-samples 1000 --json)
short_sgd=(train --job fmnist-mlp --optimizer sgd --inner-steps 1
	--checkpoint-every 1 --outer-lr 1 --outer-momentum 0 --rounds 20
	--tasks 2 --test-samples 1000 --json)
# short_compare NAME ARGS...: runs cairn ARGS on the CPU and on $device and
# compares the two final model roots; sets cmp_verdict (MATCH, MISMATCH, ...).
short_compare() {
	local name=$1 a b
	shift
	step "$name cpu" 120 "$work/${name// /-}-cpu.json" "$runlog" "$cairn" "$@" --device cpu
	step "$name $device" 120 "$work/${name// /-}-dev.json" "$runlog" "$cairn" "$@" --device "$device"
	a=$(json_get "$work/${name// /-}-cpu.json" final_model_root)
	b=$(json_get "$work/${name// /-}-dev.json" final_model_root)
	if [ "${states[${#states[@]} - 1]}" = SKIP ]; then
		cmp_verdict="not run (no time left)"
	elif [ -z "$a" ] || [ -z "$b" ]; then
		cmp_verdict="NO ROOT"
		restate FAIL
	elif [ "$a" = "$b" ]; then
		cmp_verdict="MATCH"
	else
		cmp_verdict="MISMATCH"
		restate MISMATCH
	fi
	note "$cmp_verdict: cpu ${a:0:16}, $device ${b:0:16}"
	{
		echo
		echo "==== $name, cpu against $device: $cmp_verdict"
		echo "  cpu JSON:     $(cat "$work/${name// /-}-cpu.json")"
		echo "  $device JSON: $(cat "$work/${name// /-}-dev.json")"
	} >>"$runlog"
	echo "   $name: $cmp_verdict (cpu ${a:-none}, $device ${b:-none})"
}
if need_build "short train cpu=$device"; then
	short_compare "short train" "${short[@]}"
	short_verdict=$cmp_verdict
	short_compare "short sgd" "${short_sgd[@]}"
	sgd_verdict=$cmp_verdict
fi

if need_build "train $device"; then
	f="$OUT/train-$device.json"
	step "train $device" "${CAIRN_KIT_TRAIN_TIMEOUT_S:-240}" "$f" "$runlog" \
		"$cairn" train --job fmnist-mlp --device "$device" --json
	train_state=${states[${#states[@]} - 1]}
	got=$(json_get "$f" final_model_root)
	ran_on=$(json_get "$f" device)
	droot=$(json_get "$f" dataset_root)
	if [ -z "$got" ]; then
		verdict="NO ROOT (train $train_state)"
	elif [ "$got" = "$cpu_root" ]; then
		verdict="MATCH"
	else
		verdict="MISMATCH"
		restate MISMATCH
	fi
	{
		echo
		echo "==== final model root of the default job, $device (${ran_on:-?}) against the CPU's"
		echo "  $device: ${got:-(none)}"
		echo "  cpu: $cpu_root"
		echo "  $verdict"
		if [ "$droot" = "$data_root" ]; then
			echo "  dataset root: $droot (the same data as the CPU runs)"
		else
			echo "  dataset root: ${droot:-(none)}, NOT the CPU runs' $data_root"
		fi
	} >>"$runlog"
	echo
	if [ "$verdict" = MATCH ]; then
		echo "################################################################"
		echo "## MATCH: the $device final model root equals the CPU's"
		echo "## $got"
		echo "################################################################"
	else
		echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
		echo "!! $verdict: no $device final model root equal to the CPU's"
		echo "!! $device: ${got:-(none)} (backend ${ran_on:-?})"
		echo "!! cpu: $cpu_root"
		echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
	fi
	echo
	if [ -n "$got" ]; then
		note "$verdict; backend $ran_on; accuracy $(json_get "$f" test_accuracy); $(json_get "$f" samples_per_second) samples/s; wall $(json_get "$f" wall_seconds) s; commitments $(json_get "$f" commitment_fraction) (collect $(json_get "$f" commitment_parts.collect) s, deferred $(json_get "$f" commitment_parts.deferred) s)"
		[ "$droot" = "$data_root" ] || note "$verdict; DATASET ROOT DIFFERS: $droot"
	else
		note "$verdict"
	fi
fi

# ---- 5. the suites beside PyTorch (bench/gpu/bench-all.sh) -----------------
# It writes bench-all.md and bench-all.json into its own folder; they come
# back beside ours while the 8-file limit allows, else packed in one tar.gz.
# Its printed output goes to run.log.
if [ -f bench/gpu/bench-all.sh ]; then
	ba_out="$work/bench-all"
	mkdir -p "$ba_out"
	ba_budget=$((deadline - $(date +%s) - 25))
	[ "$ba_budget" -le 270 ] || ba_budget=270
	step "bench-all.sh" 600 "$runlog" "$runlog" \
		env OUT="$ba_out" BENCH_ALL_BUDGET="$ba_budget" \
		CAIRN_DATA_DIR="${CAIRN_KIT_DATA_DIR:-/usr/share/datasets/fashion-mnist}" \
		bash bench/gpu/bench-all.sh "$cairn" "$ba_out"
	if [ -s "$ba_out/bench-all.md" ]; then
		echo "   --- bench-all.md:"
		sed 's/^/   | /' "$ba_out/bench-all.md"
	fi
	nba=$(find "$ba_out" -type f | wc -l)
	nout=$(find "$OUT" -maxdepth 1 -type f ! -empty | wc -l)
	if [ "$nba" -eq 0 ]; then
		:
	elif [ $((nba + nout + 1)) -le 8 ] && [ -z "$(find "$ba_out" -mindepth 2)" ]; then
		cp "$ba_out"/* "$OUT"/
		note "exit $step_rc; $(cd "$ba_out" && echo *)"
	else
		tar -czf "$OUT/bench-all.tar.gz" -C "$ba_out" .
		note "exit $step_rc; its $nba file(s) in bench-all.tar.gz"
	fi
else
	record "bench-all.sh" SKIP 0 "bench/gpu/bench-all.sh is not there"
fi

# ---- 6. commit modes ------------------------------------------------------
# One round of the default job with each commit mode: the same root, and
# the commitment share of each (issue 3's 2 % target; docs/train.md,
# "Background commits").
if [ "$device" = gpu ] && need_build "train gpu commits"; then
	cnote=""
	for mode in sync background; do
		f="$work/train-$mode.json"
		step "train gpu --commits $mode" 120 "$f" "$runlog" \
			"$cairn" train --job fmnist-mlp --device gpu --rounds 1 \
			--test-samples 0 --commits "$mode" --json
		{
			echo "==== one round, --commits $mode"
			cat "$f"
		} >>"$runlog"
		cnote="$cnote $mode: $(json_get "$f" commitment_fraction) of training, root $(json_get "$f" final_model_root | cut -c1-16);"
		note "commitment_fraction $(json_get "$f" commitment_fraction); $(json_get "$f" samples_per_second) samples/s"
	done
	echo "   commits:$cnote"
	echo "commits (one round):$cnote" >>"$runlog"
	# Bundles: background commits read each checkpoint from the
	# committer's snapshot; the files must be a sync run's, byte for
	# byte (a short job: each checkpoint is 22 MB in the bundle).
	step "keygen" 30 "$runlog" "$runlog" "$cairn" keygen --out "$work/worker.key"
	for mode in sync background; do
		mkdir -p "$work/bundles-$mode"
		step "bundles gpu --commits $mode" 120 "$work/bundles-$mode.json" "$runlog" \
			"$cairn" train --job fmnist-mlp --device gpu --rounds 1 \
			--inner-steps 40 --checkpoint-every 20 --test-samples 0 \
			--commits "$mode" --bundle-dir "$work/bundles-$mode" \
			--key "$work/worker.key" --json
	done
	if [ -n "$(ls -A "$work/bundles-sync" 2>/dev/null)" ] &&
		diff -r -q "$work/bundles-sync" "$work/bundles-background" >>"$runlog" 2>&1; then
		note "bundles SAME with background commits ($(ls "$work/bundles-sync" | wc -l) files)"
		echo "   bundles: SAME (sync and background)"
		echo "bundles (sync vs background): SAME" >>"$runlog"
	else
		restate FAIL
		note "bundles DIFFER (or missing) with background commits: see run.log"
		echo "   bundles: DIFFER or missing"
		echo "bundles (sync vs background): DIFFER or missing" >>"$runlog"
	fi
fi

# ---- 7. GEMM block shapes --------------------------------------------------
# The training step with each GEMM block shape forced (kernels/cuda/gemm.cu:
# the launcher picks one per call; CAIRN_CUDA_GEMM_SHAPE overrides it), to
# check the pick: the same bits, only the speed differs.
# bench_train_gpu NAME FILE VAR=VALUE: cairn bench train on the GPU with
# one setting in its environment, its JSON into FILE and run.log.
bench_train_gpu() {
	step "bench train gpu $1" 90 "$2" "$runlog" \
		env "$3" "$cairn" -q bench train --device gpu --steps 100 --json
	{
		echo "==== bench train gpu, $3"
		cat "$2"
	} >>"$runlog"
}
if [ "$device" = gpu ] && need_build "bench train gpu by GEMM shape"; then
	shapes_note=""
	for shape in auto 128x128 64x128 64x64 32x64 32x64-4x4 16x32-4x4; do
		f="$work/train-$shape.json"
		bench_train_gpu "$shape" "$f" CAIRN_CUDA_GEMM_SHAPE="$shape"
		shapes_note="$shapes_note $shape=$(json_get "$f" samples_per_second)"
		note "$(json_get "$f" samples_per_second) samples/s, last loss $(json_get "$f" last_loss)"
	done
	echo "   samples/s by GEMM shape:$shapes_note"
	echo "samples/s by GEMM shape:$shapes_note" >>"$runlog"
fi
# What background hashing costs the steps beside it, by the chunk hash's
# block size (CAIRN_CUDA_HASH_THREADS; 128 is the default): the host's
# waiting and the steps' slowdown together (background_total_fraction).
if [ "$device" = gpu ] && need_build "bench train gpu by hash block"; then
	hash_note=""
	for ht in 128 64 32; do
		f="$work/train-hash$ht.json"
		bench_train_gpu "hash threads $ht" "$f" CAIRN_CUDA_HASH_THREADS="$ht"
		hash_note="$hash_note $ht=$(json_get "$f" background_total_fraction)"
		note "wait $(json_get "$f" background_commitment_fraction), slowdown $(json_get "$f" background_step_slowdown_seconds) s, total $(json_get "$f" background_total_fraction)"
	done
	echo "   background commit share by hash block size:$hash_note"
	echo "background commit share by hash block size:$hash_note" >>"$runlog"
fi
# The step with the training set uploaded batch by batch instead of kept
# on the GPU (CAIRN_DEVICE_DATA=0; model.h): what keeping it there gains.
if [ "$device" = gpu ] && need_build "bench train gpu, data from the host"; then
	f="$work/train-hostdata.json"
	bench_train_gpu "data from the host" "$f" CAIRN_DEVICE_DATA=0
	note "$(json_get "$f" samples_per_second) samples/s from the host, against $(json_get "$work/train-auto.json" samples_per_second) with the set on the GPU"
fi

# ---- 8. benches -----------------------------------------------------------
if need_build "bench (all suites)"; then
	step "bench (all suites)" 180 "$OUT/bench.json" "$runlog" "$cairn" bench --json
	note "exit $step_rc; $(grep -o '"ratio"' "$OUT/bench.json" | wc -l) figures"
fi
if need_build "bench gemm $device 8192"; then
	# Its JSON goes into run.log (bench-all.json has the same run too), to
	# leave two of the 8 returned files to bench-all.sh.
	f="$work/gemm.json"
	step "bench gemm $device 8192" 120 "$f" "$runlog" \
		"$cairn" bench gemm --device "$device" --size 8192 --json
	{
		echo "==== bench gemm $device 8192 JSON"
		cat "$f"
	} >>"$runlog"
	if [ -s "$f" ]; then
		note "exact $(json_get "$f" exact_gflops) GFLOP/s, reference $(json_get "$f" reference_gflops), bit_exact $(json_get "$f" bit_exact)"
	fi
fi

# ---- 9. every test, on this machine's CPU too ---------------------------
if need_build "ctest (all)"; then
	step "ctest (all)" 300 "$OUT/ctest.log" "$OUT/ctest.log" \
		ctest --test-dir "$build" -j 8 --output-on-failure
	note "$(ctest_note)"
fi

summary
