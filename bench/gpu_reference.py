#!/usr/bin/env python3
"""PyTorch's own GPU figures, for bench/gpu/bench-all.sh to set beside cairn's.

On one CUDA device, with the sizes cairn's suites use (issue 5, issue 3):
  stream  device-to-device copy, torch copy_ of 1024 MiB; GB/s counts the
          bytes read plus the bytes written (as `cairn bench stream`)
  pcie    host-to-device and device-to-host copy_ of 256 MiB from pinned
          memory (torch pin_memory: not NUMA-bound); GB/s = bytes / s
  gemm    torch.matmul at N = 8192: BF16 in and out (TFLOP/s), and FP32 with
          TF32 off (torch.backends.cuda.matmul.allow_tf32 = False; GFLOP/s,
          cairn's unit for SGEMM)
  train   the reference MLP's training step (784-1024-1024-10, ReLU, AdamW
          lr 1e-3 wd 0.01, batch 256) in eager FP32, TF32 off, from
          bench/train_pytorch.py; samples/s
Each figure: warm-up first, then the median of the repeats; copies and
matmuls are timed with CUDA events around each repeat, training steps with
torch.cuda.synchronize().

--json prints one object: {"suite":"pytorch","meta":{...},"results":[...]},
each result with suite, name, device, value, unit, reference, reference_value
and ratio (the last three null: these are the references), and an "id"
(d2d_copy, h2d, d2h, matmul_bf16, matmul_fp32, train) for the table of
bench-all.sh.  A measurement that fails gives a row with "value": null and
an "error", and the others still run.

Exit status: 0 every figure measured, 1 one failed, 2 bad usage, 77 torch
or a CUDA device is missing (with --json an object with "skipped" is still
printed).  Unmeasured: written on a machine without a GPU.
"""
import argparse
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
MIB = 1 << 20

try:
    import torch
except ImportError:
    torch = None


def progress(msg):
    """Progress on a terminal only; a pipe gets none."""
    if sys.stderr.isatty():
        sys.stderr.write("\rgpu_reference: %-60s" % msg)
        sys.stderr.flush()


def time_events(fn, reps, warmup, dev):
    """Median seconds of fn() over reps runs after warmup runs, each run
    between two CUDA events on the current stream."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize(dev)
    pairs = []
    for _ in range(reps):
        e0 = torch.cuda.Event(enable_timing=True)
        e1 = torch.cuda.Event(enable_timing=True)
        e0.record()
        fn()
        e1.record()
        pairs.append((e0, e1))
    torch.cuda.synchronize(dev)
    return statistics.median(e0.elapsed_time(e1) for e0, e1 in pairs) * 1e-3


def auto_reps(fn, dev, target=1.0, lo=5, hi=10000):
    """Enough repeats of fn for about target seconds (at least lo)."""
    fn()
    torch.cuda.synchronize(dev)
    t0 = time.perf_counter()
    fn()
    torch.cuda.synchronize(dev)
    one = max(time.perf_counter() - t0, 1e-7)
    return int(min(max(target / one, lo), hi))


def m_d2d(a, dev):
    n = a.copy_mib * MIB
    src = torch.empty(n, dtype=torch.uint8, device=dev).fill_(0x5a)
    dst = torch.empty(n, dtype=torch.uint8, device=dev)
    s = time_events(lambda: dst.copy_(src), a.reps, 2, dev)
    del src, dst
    return 2.0 * n / s / 1e9


def m_pcie(a, dev, h2d):
    n = a.pcie_mib * MIB
    host = torch.empty(n, dtype=torch.uint8, pin_memory=True).fill_(0xa5)
    d = torch.empty(n, dtype=torch.uint8, device=dev)
    if h2d:
        fn = lambda: d.copy_(host, non_blocking=True)  # noqa: E731
    else:
        fn = lambda: host.copy_(d, non_blocking=True)  # noqa: E731
    s = time_events(fn, a.reps, 2, dev)
    del host, d
    return n / s / 1e9


def m_matmul(a, dev, dtype):
    n = a.gemm_size
    g = torch.Generator(device=dev).manual_seed(0)
    x = (torch.rand(n, n, device=dev, generator=g) * 2 - 1).to(dtype)
    y = (torch.rand(n, n, device=dev, generator=g) * 2 - 1).to(dtype)
    out = torch.empty(n, n, device=dev, dtype=dtype)
    fn = lambda: torch.matmul(x, y, out=out)  # noqa: E731
    for _ in range(3):  # cuBLAS picks and loads its kernels
        fn()
    reps = a.gemm_reps or auto_reps(fn, dev)
    s = time_events(fn, reps, 1, dev)
    del x, y, out
    return 2.0 * n ** 3 / s, reps


def cublas_library():
    """The libcublas this process loaded (after a matmul) and its version,
    from /proc/self/maps and cublasGetProperty; {} when unknown."""
    try:
        import ctypes
        path = None
        with open("/proc/self/maps") as f:
            for line in f:
                p = line.split()[-1]
                if "/libcublas.so" in p:
                    path = p
                    break
        if not path:
            return {}
        lib = ctypes.CDLL(path)
        v = []
        for prop in (0, 1, 2):  # MAJOR_VERSION, MINOR_VERSION, PATCH_LEVEL
            x = ctypes.c_int(0)
            if lib.cublasGetProperty(prop, ctypes.byref(x)) != 0:
                return {"path": path}
            v.append(x.value)
        return {"path": path, "version": "%d.%d.%d" % tuple(v)}
    except Exception:  # best effort: informative only
        return {}


def main():
    ap = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[2:]))
    ap.add_argument("--json", action="store_true",
                    help="one JSON object on stdout")
    ap.add_argument("--device", type=int, default=0, help="CUDA ordinal")
    ap.add_argument("--copy-mib", type=int, default=1024,
                    help="device-to-device copy size (cairn stream's)")
    ap.add_argument("--pcie-mib", type=int, default=256,
                    help="host-device copy size (cairn pcie's default)")
    ap.add_argument("--gemm-size", type=int, default=8192,
                    help="M = N = K of the matmuls (cairn gemm's on gpu)")
    ap.add_argument("--reps", type=int, default=20,
                    help="timed copies, median reported")
    ap.add_argument("--gemm-reps", type=int, default=0,
                    help="timed matmuls (default: ~1 s worth, >= 5)")
    ap.add_argument("--train-steps", type=int, default=60)
    ap.add_argument("--train-warmup", type=int, default=10)
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--only", default="",
                    help="comma-separated ids to run (default: all)")
    a = ap.parse_args()
    for k in ("copy_mib", "pcie_mib", "gemm_size", "reps", "train_steps"):
        if getattr(a, k) < 1:
            ap.error("--%s must be at least 1" % k.replace("_", "-"))

    def skip(why):
        print("gpu_reference: %s" % why, file=sys.stderr)
        if a.json:
            print(json.dumps({"suite": "pytorch", "results": [],
                              "skipped": why}))
        sys.exit(77)

    if torch is None:
        skip("torch is not importable (pip install torch, or Debian's "
             "python3-torch for the CPU)")
    if not torch.cuda.is_available() or torch.cuda.device_count() <= a.device:
        skip("torch %s sees no CUDA device %d (built for CUDA: %s)"
             % (torch.__version__, a.device, torch.version.cuda))

    dev = torch.device("cuda", a.device)
    torch.cuda.set_device(dev)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    name = torch.cuda.get_device_name(dev)
    desc = "cuda:%d: %s (torch %s, CUDA %s)" % (
        a.device, name, torch.__version__, torch.version.cuda)
    n = a.gemm_size
    plan = [
        ("d2d_copy", "stream",
         "device-to-device copy, %d MiB (torch copy_, read + write)"
         % a.copy_mib, "GB/s", lambda: m_d2d(a, dev)),
        ("h2d", "pcie",
         "host-to-device, %d MiB, pinned (torch pin_memory, not NUMA-bound)"
         % a.pcie_mib, "GB/s", lambda: m_pcie(a, dev, True)),
        ("d2h", "pcie",
         "device-to-host, %d MiB, pinned (torch pin_memory, not NUMA-bound)"
         % a.pcie_mib, "GB/s", lambda: m_pcie(a, dev, False)),
        ("matmul_bf16", "gemm",
         "torch.matmul BF16 %d x %d x %d (BF16 in/out)" % (n, n, n),
         "TFLOP/s", lambda: m_matmul(a, dev, torch.bfloat16)[0] / 1e12),
        ("matmul_fp32", "gemm",
         "torch.matmul FP32 %d x %d x %d (TF32 off)" % (n, n, n),
         "GFLOP/s", lambda: m_matmul(a, dev, torch.float32)[0] / 1e9),
        ("train", "train",
         "fmnist-mlp training step, batch 256 (PyTorch eager FP32, TF32 off)",
         "samples/s", None),
    ]
    only = set(x for x in a.only.split(",") if x)
    rows, failed = [], 0
    for rid, suite, rname, unit, fn in plan:
        if only and rid not in only:
            continue
        progress(rid)
        row = {"suite": suite, "name": rname, "device": desc, "value": None,
               "unit": unit, "reference": None, "reference_value": None,
               "ratio": None, "id": rid}
        try:
            if rid == "train":
                sys.path.insert(0, HERE)
                import train_pytorch
                t = train_pytorch.measure("cuda:%d" % a.device, None, 256,
                                          a.train_steps, a.train_warmup,
                                          a.data)
                row["value"] = t["samples_per_second"]
                row["data"] = t["data"]
            else:
                row["value"] = fn()
        except Exception as e:  # one failure; the others still run
            failed += 1
            row["error"] = "%s: %s" % (type(e).__name__, e)
            try:
                torch.cuda.synchronize(dev)
                torch.cuda.empty_cache()
            except Exception:
                pass
        rows.append(row)
    if sys.stderr.isatty():
        sys.stderr.write("\r%70s\r" % "")
    meta = {"torch": torch.__version__, "cuda": torch.version.cuda,
            "device": name, "allow_tf32": False,
            "cublas": cublas_library()}
    if a.json:
        print(json.dumps({"suite": "pytorch", "meta": meta,
                          "results": rows}))
    else:
        print("gpu_reference: PyTorch on %s" % desc)
        for r in rows:
            if r["value"] is None:
                print("  %-12s FAILED: %s" % (r["id"], r["error"]))
            else:
                print("  %-12s %12.2f %-9s %s" % (r["id"], r["value"],
                                                 r["unit"], r["name"]))
        if meta["cublas"]:
            print("  cuBLAS       %s" % json.dumps(meta["cublas"]))
    for r in rows:
        if "error" in r:
            print("gpu_reference: %s failed: %s" % (r["id"], r["error"]),
                  file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
