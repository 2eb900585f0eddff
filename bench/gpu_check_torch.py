"""PyTorch's side of bench/gpu-check.sh: the same VGG-16 on the same GPU, images/s.

    python3 bench/gpu_check_torch.py --spec spec.json --batch 128 --seconds 8 --out torch.json

The net is built from filterscope's architecture spec by bench/torch_bench.py's build() (NCHW,
the same layers and FLOPs as the NHWC tfjs model). Training is one SGD step (momentum 0.9,
weight decay 5e-4) on cross-entropy with batch norm in training mode; inference is eval mode
without gradients. Both in float32, measured twice: with TF32 off (the same arithmetic as
WebGPU's f32) and with PyTorch's defaults (TF32 allowed in cuDNN convolutions). Steps are
enqueued without waiting, as the webgpu loop does, with a synchronize at the end.
"""
import argparse
import json
import os
import sys
import time

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_bench import build  # noqa: E402


def synchronize(device):
    if device == "cuda":
        torch.cuda.synchronize()


def images_per_second(step, batch, seconds, device, warmup=3):
    for _ in range(warmup):
        step()
    synchronize(device)
    steps = 0
    start = time.perf_counter()
    while steps < 3 or time.perf_counter() - start < seconds:
        step()
        steps += 1
        if steps % 20 == 0:
            synchronize(device)
    synchronize(device)
    return {"imagesPerSecond": steps * batch / (time.perf_counter() - start), "steps": steps}


def measure(spec, batch, seconds, tf32, device):
    torch.backends.cudnn.allow_tf32 = tf32
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.benchmark = True
    torch.manual_seed(0)
    h, w, c = spec["inputShape"]
    model = build(spec).to(device)
    x = torch.randn(batch, c, h, w, device=device)
    y = torch.randint(0, spec["labels"], (batch,), device=device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    loss_fn = nn.CrossEntropyLoss()

    def train():
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        optimizer.step()

    def infer():
        with torch.no_grad():
            model(x).sum()

    model.train()
    training = images_per_second(train, batch, seconds, device)
    model.eval()
    inference = images_per_second(infer, batch, seconds, device)
    return {"tf32": tf32, "training": training, "inference": inference}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--spec", required=True)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--out", required=True)
    # cpu: a dry run of this script where there is no GPU.
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    args = parser.parse_args()
    with open(args.spec) as f:
        spec = json.load(f)
    result = {
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "device": torch.cuda.get_device_name(0) if args.device == "cuda" else "cpu",
        "batch": args.batch,
        "runs": [],
    }
    for tf32 in (False, True):
        result["runs"].append(measure(spec, args.batch, args.seconds, tf32, args.device))
        with open(args.out, "w") as f:
            json.dump(result, f, indent=2)
        run = result["runs"][-1]
        print(
            f"torch {result['torch']} on {result['device']}, batch {args.batch}, TF32 {'on' if tf32 else 'off'}: "
            f"training {run['training']['imagesPerSecond']:.0f} images/s, "
            f"inference {run['inference']['imagesPerSecond']:.0f} images/s",
            flush=True,
        )


if __name__ == "__main__":
    main()
