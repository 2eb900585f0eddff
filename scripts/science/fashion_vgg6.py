#!/usr/bin/python3
"""VGG-6 on Fashion-MNIST in PyTorch, exported to ONNX, with a linear probe per conv layer.

Run with Debian's interpreter (PyTorch 1.13 CPU), from the repository root:

    nice -n 10 /usr/bin/python3 scripts/science/fashion_vgg6.py [--train 12000] [--epochs 2]

Then `node scripts/science/compare.mjs` imports the ONNX file into filterscope and compares.

1. Trains VGG-6 as docs/METHOD.md defines it (the `VGG-6/28x28x1` preset: conv 64, 64, P, 128,
   128, P, 256, P, the classifier; 3x3 convs padded by 1 without bias, batch norm, ReLU; 2x2/2
   max-pooling floored, so 28 -> 14 -> 7 -> 3; flatten; dense 2304 -> 10) with phase 1's SGD
   (lr 0.05 cosine per epoch, momentum 0.9, weight decay 5e-4, batch 128) on the first --train
   training images, standardised as filterscope does (x / 255 - mean) / std with the population
   statistics of those images.
2. Records PyTorch's test SR on the 10,000 test images, and exports the network to ONNX in eval
   mode with batch norm kept as BatchNormalization nodes.
3. Linear probe: for each conv layer, the features at filterscope's probe point (after batch norm
   and ReLU, after the pooling that follows, then 2x2 max-pooling while h * w * F > 32768) of the
   frozen network, a dense readout to 10 labels trained with METHOD.md phase 2's head settings
   (10 epochs, SGD lr 0.01 cosine per epoch, momentum 0.9, weight decay 5e-4 on kernel and bias,
   batch 128, Glorot-uniform kernel, zero bias), on the first --probe-train training images and
   tested on the first --probe-test test images, for --replicates seeds.

Writes <out>/fashion-vgg6.onnx and <out>/fashion-vgg6-torch.json (settings, SRs, timings).

With --from-onnx FILE it trains nothing: the weights are read back from an ONNX file this script
wrote (its initializers carry the PyTorch parameter names), the test SR is measured again, and the
probe runs at the sizes given (the standardisation is computed again from --train).
"""

import argparse
import gzip
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

FASHION = '/usr/share/datasets/fashion-mnist'
MAX_FEATURES = 32768


def idx(name):
    with gzip.open(os.path.join(FASHION, name), 'rb') as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], 'big') for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def conv(cin, cout):
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]


class VGG6(nn.Module):
    """The VGG-6/28x28x1 preset; `probe_points` names where each conv layer's readout reads."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            *conv(1, 64), *conv(64, 64), nn.MaxPool2d(2),
            *conv(64, 128), *conv(128, 128), nn.MaxPool2d(2),
            *conv(128, 256), nn.MaxPool2d(2))
        self.classifier = nn.Linear(256 * 3 * 3, 10)

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))

    def probe_features(self, x):
        """The probe point of every conv layer (METHOD.md "Probe point"), NCHW."""
        out, layers, i = [], list(self.features), 0
        while i < len(layers):
            x = layers[i](x)
            if isinstance(layers[i], nn.ReLU):
                p = x
                while i + 1 < len(layers) and isinstance(layers[i + 1], nn.MaxPool2d):
                    i += 1
                    x = layers[i](x)
                    p = x
                while p[0].numel() > MAX_FEATURES and min(p.shape[2:]) >= 2:
                    p = F.max_pool2d(p, 2)
                out.append(p)
            i += 1
        return out


def cosine(lr, e, epochs):
    return lr * (1 + math.cos(math.pi * e / epochs)) / 2


def batches(n, size, generator):
    order = torch.randperm(n, generator=generator)
    return [order[i:i + size] for i in range(0, n, size)]


def train(model, x, y, epochs, seed):
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    log = []
    for e in range(epochs):
        for group in opt.param_groups:
            group['lr'] = cosine(0.05, e, epochs)
        model.train()
        t0, total, correct = time.time(), 0.0, 0
        for b in batches(len(x), 128, g):
            opt.zero_grad()
            out = model(x[b])
            loss = F.cross_entropy(out, y[b])
            loss.backward()
            opt.step()
            total += float(loss) * len(b)
            correct += int((out.argmax(1) == y[b]).sum())
        log.append({'epoch': e + 1, 'trainLoss': total / len(x), 'trainSR': correct / len(x),
                    'seconds': time.time() - t0})
        print(f'epoch {e + 1}: loss {total / len(x):.4f} train SR {correct / len(x):.4f} '
              f'({time.time() - t0:.0f} s)', flush=True)
    model.eval()
    return log


@torch.no_grad()
def predict(fn, x, size=500):
    return torch.cat([fn(x[i:i + size]) for i in range(0, len(x), size)])


@torch.no_grad()
def features(model, x, size=250):
    parts = [model.probe_features(x[i:i + size]) for i in range(0, len(x), size)]
    return [torch.cat([p[l] for p in parts]).flatten(1) for l in range(len(parts[0]))]


def head(ftrain, ytrain, ftest, ytest, seed, epochs=10, shuffle_seed=0):
    """METHOD.md phase 2's head: one dense layer, SGD with PyTorch's semantics."""
    torch.manual_seed(seed)
    lin = nn.Linear(ftrain.shape[1], 10)
    nn.init.xavier_uniform_(lin.weight)
    nn.init.zeros_(lin.bias)
    opt = torch.optim.SGD(lin.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    g = torch.Generator().manual_seed(shuffle_seed)
    history = []
    for e in range(epochs):
        for group in opt.param_groups:
            group['lr'] = cosine(0.01, e, epochs)
        for b in batches(len(ftrain), 128, g):
            opt.zero_grad()
            F.cross_entropy(lin(ftrain[b]), ytrain[b]).backward()
            opt.step()
        with torch.no_grad():
            history.append(float((predict(lin, ftest).argmax(1) == ytest).float().mean()))
    return history


def load_onnx(model, path):
    """The weights of an ONNX file this script exported (initializers named as the parameters)."""
    import onnx
    from onnx import numpy_helper
    weights = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy())
               for t in onnx.load(path).graph.initializer}
    state = model.state_dict()
    missing = [k for k in state if k not in weights and not k.endswith('num_batches_tracked')]
    if missing:
        raise ValueError(f'{path} has no weights for {missing}')
    model.load_state_dict({k: weights.get(k, v) for k, v in state.items()})
    model.eval()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--train', type=int, default=12000, help='training images for VGG-6')
    ap.add_argument('--epochs', type=int, default=2)
    ap.add_argument('--probe-train', type=int, default=6000)
    ap.add_argument('--probe-test', type=int, default=10000)
    ap.add_argument('--replicates', type=int, default=3)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--out', default='docs/science')
    ap.add_argument('--from-onnx', help='read the weights from this file instead of training')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    os.makedirs(a.out, exist_ok=True)

    xtr = torch.from_numpy(idx('train-images-idx3-ubyte.gz').astype(np.float32) / 255)
    ytr = torch.from_numpy(idx('train-labels-idx1-ubyte.gz').astype(np.int64))
    xte = torch.from_numpy(idx('t10k-images-idx3-ubyte.gz').astype(np.float32) / 255)
    yte = torch.from_numpy(idx('t10k-labels-idx1-ubyte.gz').astype(np.int64))
    # filterscope's standardisation: population statistics of the training images the run uses.
    used = xtr[:a.train].double()
    mean, std = float(used.mean()), float(used.std(unbiased=False))
    norm = lambda x: ((x - mean) / std).unsqueeze(1).float()
    xtr, xte = norm(xtr), norm(xte)

    model = VGG6()
    t0 = time.time()
    if a.from_onnx:
        load_onnx(model, a.from_onnx)
        log = None
    else:
        log = train(model, xtr[:a.train], ytr[:a.train], a.epochs, a.seed)
    train_s = time.time() - t0
    logits = predict(model, xte)
    test_sr = float((logits.argmax(1) == yte).float().mean())
    print(f'PyTorch test SR on {len(xte)} images: {test_sr:.4f}', flush=True)

    onnx_path = os.path.join(a.out, 'fashion-vgg6.onnx')
    if not a.from_onnx:
        torch.onnx.export(model, torch.zeros(1, 1, 28, 28), onnx_path, input_names=['input'],
                          output_names=['logits'],
                          dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}},
                          opset_version=13, training=torch.onnx.TrainingMode.PRESERVE,
                          do_constant_folding=False)

    t0 = time.time()
    ftr = features(model, xtr[:a.probe_train])
    fte = features(model, xte[:a.probe_test])
    features_s = time.time() - t0
    layers = []
    t0 = time.time()
    for l, (a_tr, a_te) in enumerate(zip(ftr, fte)):
        runs = [head(a_tr, ytr[:a.probe_train], a_te, yte[:a.probe_test], seed=r)
                for r in range(a.replicates)]
        final = [h[-1] for h in runs]
        layers.append({'layer': f'conv{l + 1}', 'features': a_tr.shape[1],
                       'probePointShapeNCHW': list(model.probe_features(xte[:1])[l].shape[1:]),
                       'sr': final, 'mean': float(np.mean(final)),
                       'std': float(np.std(final, ddof=1)) if len(final) > 1 else None,
                       'history': runs[0]})
        print(f'conv{l + 1}: SR {np.mean(final):.4f} +- {layers[-1]["std"] or 0:.4f}', flush=True)
    heads_s = time.time() - t0

    result = {
        'source': f'PyTorch {torch.__version__}, scripts/science/fashion_vgg6.py',
        'settings': vars(a),
        'input': {'pixelScale': 'unit', 'mean': [mean], 'std': [std], 'channelOrder': 'rgb'},
        'training': log if log is not None else f'weights read from {a.from_onnx}',
        'trainSeconds': train_s if log is not None else None,
        'testSR': test_sr, 'testImages': len(xte),
        'testPredictions': logits.argmax(1).tolist(),
        'onnx': os.path.basename(a.from_onnx or onnx_path),
        'probe': {'trainImages': a.probe_train, 'testImages': a.probe_test,
                  'headEpochs': 10, 'learningRate': 0.01, 'schedule': 'cosine per epoch',
                  'momentum': 0.9, 'weightDecay': 5e-4, 'batchSize': 128,
                  'replicates': a.replicates, 'featuresSeconds': features_s,
                  'headsSeconds': heads_s, 'layers': layers},
    }
    with open(os.path.join(a.out, 'fashion-vgg6-torch.json'), 'w') as f:
        json.dump(result, f, indent=1)
    print(f'wrote {os.path.join(a.out, "fashion-vgg6-torch.json")}')


if __name__ == '__main__':
    main()
