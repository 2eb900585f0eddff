"""PyTorch reference for bench/engine.ts: the same architectures, batch and thread count on CPU.

Reads one JSON object on stdin:
  {"specs": [ArchitectureSpec, ...], "batch": 64, "threads": 2,
   "seconds": 10, "warmup": 2, "minSteps": 3}
and prints one JSON object: {"torch": version, "threads": n, "results": [{"name", "train", "infer"}]},
img/s for a training step (SGD momentum 0.9, softmax cross-entropy) and for inference (eval, no grad).
Specs are filterscope architecture specs (src/architecture/spec.ts); layout is NCHW, the FLOPs are
the same as the NHWC tfjs model's.
"""
import json
import sys
import time

import torch
from torch import nn


def build(spec):
    """nn.Sequential for a spec, with the defaults of src/architecture/spec.ts."""
    h, w, c = spec["inputShape"]
    layers = []
    flat = None  # feature count once flattened
    for block in spec["blocks"]:
        kind = block["kind"]
        if kind == "conv":
            k = block.get("kernelSize", 3)
            stride = block.get("stride", 1)
            padding = block.get("padding", "same")
            if padding == "same" and stride != 1:
                raise NotImplementedError("same padding with stride > 1")
            bn = block.get("batchNorm", True)
            f = block["filters"]
            layers.append(nn.Conv2d(c, f, k, stride=stride, padding=padding if padding == "same" else 0, bias=not bn))
            if bn:
                layers.append(nn.BatchNorm2d(f, eps=1e-5, momentum=0.1))
            if block.get("activation", "relu") == "relu":
                layers.append(nn.ReLU(inplace=True))
            if padding == "valid":
                h, w = (h - k) // stride + 1, (w - k) // stride + 1
            c = f
        elif kind in ("maxPool", "avgPool"):
            size = block.get("poolSize", 2)
            stride = block.get("stride", size)
            pool = nn.MaxPool2d if kind == "maxPool" else nn.AvgPool2d
            layers.append(pool(size, stride))
            h, w = (h - size) // stride + 1, (w - size) // stride + 1
        elif kind == "dropout":
            layers.append(nn.Dropout(block["rate"]))
        elif kind == "flatten":
            layers.append(nn.Flatten())
            flat = h * w * c
        elif kind == "dense":
            units = block["units"]
            layers.append(nn.Linear(flat, units))
            if block.get("activation", "relu") == "relu":
                layers.append(nn.ReLU(inplace=True))
            flat = units
        else:
            raise ValueError(f"unknown block kind {kind}")
    if flat is None:
        layers.append(nn.Flatten())
        flat = h * w * c
    layers.append(nn.Linear(flat, spec["labels"]))
    return nn.Sequential(*layers)


def measure(step, seconds, warmup, min_steps):
    """Steps per second after `warmup` untimed steps, over >= `seconds` and >= `min_steps`."""
    for _ in range(warmup):
        step()
    steps = 0
    start = time.perf_counter()
    while steps < min_steps or time.perf_counter() - start < seconds:
        step()
        steps += 1
    return steps / (time.perf_counter() - start)


def main():
    args = json.load(sys.stdin)
    torch.set_num_threads(args["threads"])
    torch.manual_seed(0)
    batch = args["batch"]
    results = []
    for spec in args["specs"]:
        h, w, c = spec["inputShape"]
        model = build(spec)
        x = torch.randn(batch, c, h, w)
        y = torch.randint(0, spec["labels"], (batch,))
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        loss_fn = nn.CrossEntropyLoss()

        def train_step():
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            loss.item()

        def infer_step():
            with torch.no_grad():
                model(x).sum().item()

        model.train()
        train = measure(train_step, args["seconds"], args["warmup"], args["minSteps"]) * batch
        model.eval()
        infer = measure(infer_step, args["seconds"], args["warmup"], args["minSteps"]) * batch
        results.append({"name": spec["name"], "train": train, "infer": infer})
    json.dump({"torch": torch.__version__, "threads": torch.get_num_threads(), "results": results}, sys.stdout)


if __name__ == "__main__":
    main()
