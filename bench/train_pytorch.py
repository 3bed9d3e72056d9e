#!/usr/bin/env python3
"""PyTorch reference for cairn's training speed (issue 3).

The same model, batch and optimizer as cairn's reference job fmnist-mlp:
an MLP 784-1024-1024-10 with ReLU, softmax cross-entropy, AdamW (lr 1e-3,
betas 0.9/0.999, eps 1e-8, weight decay 0.01), batch 256, samples drawn at
random from Fashion-MNIST's training set each step.  FP32, TF32 off on GPU.

It prints one JSON object with samples_per_second (the median over the
timed steps after a warm-up), so bench/train_vs_pytorch.sh can put it
beside `cairn bench train`.  On the GPU (--device cuda) each step is timed
from its start to a torch.cuda.synchronize() after the optimizer step.
bench/gpu_reference.py imports measure() from here for its training row.
Debian: apt-get install python3-torch.  Exit 77 when torch is missing.
"""
import argparse
import gzip
import json
import os
import statistics
import struct
import sys
import time

try:
    import torch
except ImportError:
    torch = None  # main() says so and exits 77; importers check


def read_idx(path):
    """An IDX file (gzip'd or plain) as a uint8 tensor of its dimensions."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    ndim = magic & 0xff
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    body = data[4 + 4 * ndim:]
    return torch.frombuffer(bytearray(body), dtype=torch.uint8).reshape(dims)


def load_train(data_dir):
    """Fashion-MNIST's training split as float images in [0,1] and labels;
    random data of the same shape when the files are not there."""
    img = os.path.join(data_dir, "train-images-idx3-ubyte.gz")
    lab = os.path.join(data_dir, "train-labels-idx1-ubyte.gz")
    if os.path.exists(img) and os.path.exists(lab):
        x = read_idx(img).reshape(-1, 784).float() / 255.0
        y = read_idx(lab).long()
        return x, y, "fashion-mnist"
    g = torch.Generator().manual_seed(0)
    return (torch.rand(60000, 784, generator=g),
            torch.randint(0, 10, (60000,), generator=g), "random")


DEFAULT_DATA = "/usr/share/datasets/fashion-mnist"


def measure(device="cpu", threads=None, batch=256, steps=60, warmup=10,
            data=DEFAULT_DATA):
    """Times the reference job's training step in eager FP32 (TF32 off on
    the GPU); returns the dict that main() prints.  device is "cpu",
    "cuda" or "cuda:N"."""
    threads = threads or os.cpu_count()
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    cuda = device.startswith("cuda")
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    dev = torch.device(device)
    x_all, y_all, source = load_train(data)
    x_all, y_all = x_all.to(dev), y_all.to(dev)
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 1024), torch.nn.ReLU(),
        torch.nn.Linear(1024, 1024), torch.nn.ReLU(),
        torch.nn.Linear(1024, 10)).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.999),
                            eps=1e-8, weight_decay=0.01)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        idx = torch.randint(0, x_all.shape[0], (batch,), device=dev)
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x_all[idx]), y_all[idx])
        loss.backward()
        opt.step()
        return loss

    times = []
    if cuda:
        torch.cuda.synchronize(dev)
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        loss = step()
        if cuda:
            torch.cuda.synchronize(dev)
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    return {
        "framework": "pytorch", "version": torch.__version__,
        "device": device, "threads": threads, "batch": batch,
        "data": source, "steps": steps,
        "step_seconds_median": med,
        "samples_per_second": batch / med,
        "last_loss": float(loss)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--steps", type=int, default=60, help="timed steps")
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--data", default=DEFAULT_DATA)
    a = ap.parse_args()
    if torch is None:
        print("train_pytorch.py: torch is not importable; "
              "apt-get install python3-torch", file=sys.stderr)
        sys.exit(77)
    print(json.dumps(measure(a.device, a.threads, a.batch, a.steps,
                             a.warmup, a.data)))


if __name__ == "__main__":
    main()
