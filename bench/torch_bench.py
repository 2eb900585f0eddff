"""PyTorch reference for bench/engine.ts: the same architectures, batch and threads on CPU.

A line-oriented JSON server on stdin/stdout, so that the benchmark can interleave PyTorch and
TensorFlow.js measurements (the machine is shared and its speed drifts):
  start                      -> {"torch": version}
  {"op": "build", "spec": ArchitectureSpec, "batch": 64, "threads": 2}  -> {"ok": true}
  {"op": "measure", "mode": "train" | "infer", "seconds": 5, "warmup": 2, "minSteps": 2}
                             -> {"imagesPerSecond": x, "steps": n}
Training is SGD (momentum 0.9) on cross-entropy with batch norm in training mode; inference is
eval mode without gradients. Specs are filterscope architecture specs (src/architecture/spec.ts)
with its defaults; the layout is NCHW, with the same FLOPs as the NHWC tfjs model.
"""
import json
import sys
import time

import torch
from torch import nn


def build(spec):
    """nn.Sequential for a spec."""
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
            pad = "same" if padding == "same" else 0
            layers.append(nn.Conv2d(c, f, k, stride=stride, padding=pad, bias=not bn))
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


class Workload:
    def __init__(self, spec, batch):
        h, w, c = spec["inputShape"]
        torch.manual_seed(0)
        self.batch = batch
        self.model = build(spec)
        self.x = torch.randn(batch, c, h, w)
        self.y = torch.randint(0, spec["labels"], (batch,))
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=0.01, momentum=0.9)
        self.loss = nn.CrossEntropyLoss()

    def train(self):
        self.model.train()
        self.optimizer.zero_grad()
        loss = self.loss(self.model(self.x), self.y)
        loss.backward()
        self.optimizer.step()
        loss.item()

    def infer(self):
        self.model.eval()
        with torch.no_grad():
            self.model(self.x).sum().item()


def measure(step, batch, seconds, warmup, min_steps):
    for _ in range(warmup):
        step()
    steps = 0
    start = time.perf_counter()
    while steps < min_steps or time.perf_counter() - start < seconds:
        step()
        steps += 1
    return {"imagesPerSecond": steps * batch / (time.perf_counter() - start), "steps": steps}


def main():
    reply = lambda value: print(json.dumps(value), flush=True)
    reply({"torch": torch.__version__})
    work = None
    for line in sys.stdin:
        request = json.loads(line)
        if request["op"] == "build":
            torch.set_num_threads(request["threads"])
            work = Workload(request["spec"], request["batch"])
            reply({"ok": True, "threads": torch.get_num_threads()})
        elif request["op"] == "measure":
            step = work.train if request["mode"] == "train" else work.infer
            reply(measure(step, work.batch, request["seconds"], request["warmup"], request["minSteps"]))
        else:
            raise ValueError(f"unknown op {request['op']}")


if __name__ == "__main__":
    main()
