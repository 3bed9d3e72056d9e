#!/usr/bin/env python3
"""PyTorch reference for cairn's training speed (issue 3).

The same model, batch and optimizer as cairn's reference job fmnist-mlp:
an MLP 784-1024-1024-10 with ReLU, softmax cross-entropy, AdamW (lr 1e-3,
betas 0.9/0.999, eps 1e-8, weight decay 0.01), batch 256, samples drawn at
random from Fashion-MNIST's training set each step.  FP32, TF32 off on GPU.

It prints one JSON object with samples_per_second (the median over the
timed steps after a warm-up), so bench/train_vs_pytorch.sh can put it
beside `cairn bench train`.  Debian: apt-get install python3-torch.
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
    print("train_pytorch.py: torch is not importable; "
          "apt-get install python3-torch", file=sys.stderr)
    sys.exit(77)


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


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--steps", type=int, default=60, help="timed steps")
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    if a.device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    dev = torch.device(a.device)
    x_all, y_all, source = load_train(a.data)
    x_all, y_all = x_all.to(dev), y_all.to(dev)
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 1024), torch.nn.ReLU(),
        torch.nn.Linear(1024, 1024), torch.nn.ReLU(),
        torch.nn.Linear(1024, 10)).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.999),
                            eps=1e-8, weight_decay=0.01)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        idx = torch.randint(0, x_all.shape[0], (a.batch,), device=dev)
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x_all[idx]), y_all[idx])
        loss.backward()
        opt.step()
        return loss

    times = []
    for i in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        loss = step()
        if a.device == "cuda":
            torch.cuda.synchronize()
        if i >= a.warmup:
            times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    print(json.dumps({
        "framework": "pytorch", "version": torch.__version__,
        "device": a.device, "threads": a.threads, "batch": a.batch,
        "data": source, "steps": a.steps,
        "step_seconds_median": med,
        "samples_per_second": a.batch / med,
        "last_loss": float(loss)}))


if __name__ == "__main__":
    main()
