"""The probe of docs/METHOD.md (phases 2 and 3) written in PyTorch, for bench/probe-cost.ts.

Run: /usr/bin/python3 bench/probe_torch.py <job folder> [threads]. The folder (written by
probe-cost.ts) holds meta.json, frozen.onnx (filterscope's export of the frozen prefix: NHWC input,
one output per probe point, pooled and flattened channels-last), and the images and labels of the
train and test splits (uint8 NHWC, int32). The frozen network runs once over both splits with
PyTorch's kernels (the ONNX graph's Conv, BatchNormalization, Relu, MaxPool, Transpose and Flatten
as torch.nn.functional calls on the same weights); the features are kept in memory as float16.
Then every layer's `replicates` dense heads train together for `headEpochs` epochs (SGD with
momentum and weight decay, cosine learning rate per epoch, one shuffle per epoch shared by all
heads, METHOD.md's head defaults as filterscope resolved them), each epoch ending with a test
pass; the last test pass also accumulates phase 3's per-filter matrices (every replicate) and
the ablation counts (first replicate). AFCC evaluates the first replicate's head with a masked
kernel on the test split. Prints one JSON line: the seconds of each part, SR per layer (mean and
standard deviation over replicates) and the peak resident set (VmHWM).
"""
import json
import math
import os
import sys
import time

import numpy as np
import onnx
from onnx import numpy_helper
import torch
import torch.nn.functional as F


def peak_rss_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def frozen_network(path):
    """A function NHWC float32 batch -> list of [n, P*F] outputs, from the ONNX graph."""
    model = onnx.load(path)
    weights = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in model.graph.initializer}
    attrs = lambda node: {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    nodes = [(n.op_type, list(n.input), n.output[0], attrs(n)) for n in model.graph.node]
    outputs = [o.name for o in model.graph.output]

    def run(x):
        values = {"input": x}
        for op, inputs, output, a in nodes:
            v = values[inputs[0]]
            if op == "Transpose":
                y = v.permute(*a["perm"]).contiguous()
            elif op == "Conv":
                t, l, b, r = a["pads"]
                if t != b or l != r:
                    v = F.pad(v, (l, r, t, b))
                    t, l = 0, 0
                bias = weights[inputs[2]] if len(inputs) > 2 else None
                y = F.conv2d(v, weights[inputs[1]], bias, stride=a["strides"], padding=(t, l))
            elif op == "BatchNormalization":
                g, beta, mean, var = (weights[n] for n in inputs[1:5])
                y = F.batch_norm(v, mean, var, g, beta, training=False, eps=a["epsilon"])
            elif op == "Relu":
                y = F.relu(v)
            elif op == "MaxPool":
                y = F.max_pool2d(v, a["kernel_shape"], a["strides"])
            elif op == "AveragePool":
                y = F.avg_pool2d(v, a["kernel_shape"], a["strides"])
            elif op == "Flatten":
                y = torch.flatten(v, 1)
            else:
                raise NotImplementedError(op)
            values[output] = y
        return [values[name] for name in outputs]

    return run


def main():
    folder = sys.argv[1]
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else os.cpu_count()
    torch.set_num_threads(threads)
    meta = json.load(open(os.path.join(folder, "meta.json")))
    h, w, c = meta["inputShape"]
    labels = meta["labels"]
    o = meta["options"]
    points = meta["points"]

    def split(name):
        count = meta[name]["count"]
        images = np.fromfile(os.path.join(folder, f"{name}.u8"), dtype=np.uint8).reshape(count, h, w, c)
        y = np.fromfile(os.path.join(folder, f"{name}.labels"), dtype=np.int32)
        return torch.from_numpy(images), torch.from_numpy(y.astype(np.int64))

    train_x, train_y = split("train")
    test_x, test_y = split("test")
    mean = torch.tensor(meta["normalization"]["mean"], dtype=torch.float32)
    std = torch.tensor(meta["normalization"]["std"], dtype=torch.float32)
    torch.manual_seed(o["seed"])
    started = time.perf_counter()

    # Features, once: every probe point of every image, float16 in memory.
    run = frozen_network(os.path.join(folder, "frozen.onnx"))
    batch = o["batchSize"]
    features = {}
    t0 = time.perf_counter()
    with torch.no_grad():
        for name, x in (("train", train_x), ("test", test_x)):
            n = x.shape[0]
            store = [torch.empty((n, p["features"]), dtype=torch.float16) for p in points]
            for s in range(0, n, batch):
                inputs = (x[s : s + batch].float() / 255 - mean) / std
                for l, out in enumerate(run(inputs)):
                    store[l][s : s + batch] = out.half()
            features[name] = store
    features_seconds = time.perf_counter() - t0

    # Heads: `replicates` per layer, trained together on the stored features.
    heads = []
    for p in points:
        layer = []
        for r in range(o["replicates"]):
            head = torch.nn.Linear(p["features"], labels)
            torch.nn.init.xavier_uniform_(head.weight)
            torch.nn.init.zeros_(head.bias)
            opt = torch.optim.SGD(head.parameters(), lr=o["learningRate"], momentum=o["momentum"], weight_decay=o["weightDecay"])
            layer.append((head, opt))
        heads.append(layer)
    n_train, n_test = train_x.shape[0], test_x.shape[0]
    epochs = o["headEpochs"]
    phase3_seconds = 0.0
    t0 = time.perf_counter()
    sr = [[0.0] * o["replicates"] for _ in points]
    matrices = None
    ablation = None
    for e in range(epochs):
        lr = o["learningRate"] * (1 + math.cos(math.pi * e / epochs)) / 2
        for layer in heads:
            for _, opt in layer:
                for group in opt.param_groups:
                    group["lr"] = lr
        order = torch.randperm(n_train)
        for s in range(0, n_train, batch):
            idx = order[s : s + batch]
            y = train_y[idx]
            for l, layer in enumerate(heads):
                x = features["train"][l][idx].float()
                for head, opt in layer:
                    opt.zero_grad(set_to_none=True)
                    F.cross_entropy(head(x), y).backward()
                    opt.step()
        last = e == epochs - 1
        correct = [[0] * o["replicates"] for _ in points]
        if last:
            matrices = [[torch.zeros(p["filters"], labels, labels, dtype=torch.float64) for _ in range(o["replicates"])] for p in points]
            ablation = [torch.zeros(p["filters"], dtype=torch.float64) for p in points]
        with torch.no_grad():
            for s in range(0, n_test, batch):
                y = test_y[s : s + batch]
                for l, layer in enumerate(heads):
                    x = features["test"][l][s : s + batch].float()
                    p = points[l]
                    for r, (head, _) in enumerate(layer):
                        logits = head(x)
                        correct[l][r] += int((logits.argmax(1) == y).sum())
                        if last:
                            t1 = time.perf_counter()
                            # Per-filter contributions h[n, k, j] = sum_p a[n, p, k] W[j, p, k].
                            wk = head.weight.view(labels, p["positions"], p["filters"])
                            hk = torch.einsum("npk,jpk->nkj", x.view(-1, p["positions"], p["filters"]), wk)
                            matrices[l][r].index_add_(1, y, hk.permute(1, 0, 2).double())
                            if r == 0:
                                without = (logits.unsqueeze(1) - hk).argmax(2)
                                ablation[l] += (without == y.unsqueeze(1)).double().sum(0)
                            phase3_seconds += time.perf_counter() - t1
        for l in range(len(points)):
            for r in range(o["replicates"]):
                sr[l][r] = correct[l][r] / n_test
    heads_seconds = time.perf_counter() - t0 - phase3_seconds

    # Phase 3's matrices: mean per true label; a filter's SNR from its diagonal.
    t1 = time.perf_counter()
    counts = torch.bincount(test_y, minlength=labels).double().clamp(min=1)
    masks = []
    for l in range(len(points)):
        for r in range(o["replicates"]):
            m = matrices[l][r] / counts.view(1, labels, 1)
            diag = torch.diagonal(m, dim1=1, dim2=2)
            _ = diag.mean(1) / (m.sum((1, 2)) - diag.sum(1)).abs().clamp(min=1e-12)
            if r == 0:
                # AFCC's mask: a filter keeps the labels whose own row it raises above its mean.
                masks.append((diag > m.mean(2)).float())
    phase3_seconds += time.perf_counter() - t1

    # AFCC: the first replicate's head, masked per filter and label, on the test split.
    t0 = time.perf_counter()
    afcc = [0] * len(points)
    with torch.no_grad():
        kernels = []
        for l, p in enumerate(points):
            wk = heads[l][0][0].weight.view(labels, p["positions"], p["filters"])
            kernels.append((wk * masks[l].t().unsqueeze(1)).reshape(labels, -1))
        for s in range(0, n_test, batch):
            y = test_y[s : s + batch]
            for l in range(len(points)):
                x = features["test"][l][s : s + batch].float()
                logits = x @ kernels[l].t() + heads[l][0][0].bias
                afcc[l] += int((logits.argmax(1) == y).sum())
    afcc_seconds = time.perf_counter() - t0
    wall = time.perf_counter() - started
    print(
        json.dumps(
            {
                "featuresSeconds": features_seconds,
                "headsSeconds": heads_seconds,
                "phase3Seconds": phase3_seconds,
                "afccSeconds": afcc_seconds,
                "wallSeconds": wall,
                "peakRssBytes": peak_rss_bytes(),
                "threads": threads,
                "torch": torch.__version__,
                "successRate": [float(np.mean(v)) for v in sr],
                "successRateStd": [float(np.std(v, ddof=1)) if len(v) > 1 else 0.0 for v in sr],
            }
        )
    )


if __name__ == "__main__":
    main()
