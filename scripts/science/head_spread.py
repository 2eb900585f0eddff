#!/usr/bin/python3
"""How much a PyTorch linear probe's SR moves with the head's seed, its shuffle order and float16
features, on the network fashion_vgg6.py exported (docs/science/fashion-vgg6.onnx).

    nice -n 10 /usr/bin/python3 scripts/science/head_spread.py [--layers 2,4] [--seeds 8]

Same images and head settings as fashion_vgg6.py's probe (first 3000 training and 2000 test
images, standardisation from the first 20000 training images). Prints one line per experiment.
"""

import argparse
import importlib.util
import os

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location('fashion_vgg6', os.path.join(HERE, 'fashion_vgg6.py'))
fv = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fv)


def summary(values):
    return (f'{[round(v, 4) for v in values]} mean {np.mean(values):.4f} '
            f'std {np.std(values, ddof=1):.4f}')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--onnx', default=os.path.join(HERE, '..', '..', 'docs', 'science',
                                                   'fashion-vgg6.onnx'))
    ap.add_argument('--layers', default='2,4', help='conv layers, 1-based')
    ap.add_argument('--seeds', type=int, default=8)
    ap.add_argument('--train', type=int, default=20000)
    ap.add_argument('--probe-train', type=int, default=3000)
    ap.add_argument('--probe-test', type=int, default=2000)
    a = ap.parse_args()
    torch.set_num_threads(2)
    xtr = torch.from_numpy(fv.idx('train-images-idx3-ubyte.gz').astype(np.float32) / 255)
    ytr = torch.from_numpy(fv.idx('train-labels-idx1-ubyte.gz').astype(np.int64))
    xte = torch.from_numpy(fv.idx('t10k-images-idx3-ubyte.gz').astype(np.float32) / 255)
    yte = torch.from_numpy(fv.idx('t10k-labels-idx1-ubyte.gz').astype(np.int64))
    used = xtr[:a.train].double()
    mean, std = float(used.mean()), float(used.std(unbiased=False))
    norm = lambda x: ((x - mean) / std).unsqueeze(1).float()
    ytr, yte = ytr[:a.probe_train], yte[:a.probe_test]
    model = fv.VGG6()
    fv.load_onnx(model, a.onnx)
    ftr = fv.features(model, norm(xtr[:a.probe_train]))
    fte = fv.features(model, norm(xte[:a.probe_test]))
    for layer in (int(x) - 1 for x in a.layers.split(',')):
        name = f'conv{layer + 1}'
        seeds = [fv.head(ftr[layer], ytr, fte[layer], yte, seed=s)[-1]
                 for s in range(a.seeds)]
        print(f'{name}: head seeds 0-{a.seeds - 1}, shuffle 0: {summary(seeds)}', flush=True)
        shuffles = [fv.head(ftr[layer], ytr, fte[layer], yte, seed=0, shuffle_seed=s)[-1]
                    for s in range(1, 4)]
        print(f'{name}: head seed 0, shuffles 1-3: {summary(shuffles)}', flush=True)
        half = [fv.head(ftr[layer].half().float(), ytr, fte[layer].half().float(), yte,
                        seed=s)[-1] for s in range(3)]
        print(f'{name}: float16 features, head seeds 0-2: {summary(half)}', flush=True)


if __name__ == '__main__':
    main()
