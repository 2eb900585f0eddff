#!/usr/bin/env bash
# The webgpu backend on a GPU machine: a prepared check for the device tool's NVIDIA machines
# (H100/H200: PyTorch + CUDA there, but no Node.js, no network, and at most 64 MiB carried).
#
#   bash bench/gpu-check.sh pack    here, in a checkout with `npm ci` done and apt-get reachable
#                                    (2-5 minutes): writes .gpu-check/bundle.tar.xz
#   bash bench/gpu-check.sh run     there, with .gpu-check carried, from the repository root
#
# The device tool call, from the checkout it sends (its .gpu-check is git-ignored, so it must be
# named in carry):
#   run(command="bash bench/gpu-check.sh run", carry=[".gpu-check"], timeout_s=330)
# The tool sends the checkout its session started in (not a helper's worktree): pack there, after
# this file is merged. Each part has its own limit (75 + 150 + 50 s), so a hang in one still
# leaves the others' results in $OUT.
# What comes back: $OUT/summary.txt, check.json (webgpu), torch.json, kernels.txt and the logs.
#
# The bundle holds exactly what the run needs, since node_modules does not travel: this
# machine's `node` binary (stripped), the compiled check (bench/out: the check and the engine's
# sources), the files of node_modules the check loads (traced, not guessed: the tfjs bundles
# and Dawn's binding, dawn.node), Debian 12's Vulkan loader (libvulkan1) with the libraries the
# NVIDIA Vulkan driver may need where the machine lacks them (glvnd, X11 client libraries,
# libstdc++ for dawn.node's GLIBCXX_3.4.30), and the reference: wasm's losses and gradients of
# the same short VGG-16 run, computed here. The NVIDIA ICD file (nvidia_icd.json) comes from
# the host's driver.
#
# GPU_CHECK_SOFTWARE=1 bash bench/gpu-check.sh run: a dry run where there is no GPU (Mesa
# llvmpipe, small batches; about 8 minutes on 2 cores, most of it the VGG-16 short run).
#
# `run` takes about 2-3 minutes (under 5 at the limits), each part under its own time limit:
#   1. PyTorch on the GPU: VGG-16 32x32x3 at batch 128, training and inference images/s, TF32
#      off (the arithmetic WebGPU does) and on (PyTorch's default for convolutions);
#   2. the webgpu check: the adapter (hardware only), one step's loss and gradients and a
#      3-step run of the engine's train() against wasm's, then training and inference images/s
#      of VGG-16 at batch 128;
#   3. filterscope's webgpu kernels against the stock ones at VGG-16's shapes (bench:webgpu);
#   4. a summary: the ratios against PyTorch and the 1,000 images/s target.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR="$ROOT/.gpu-check"
BUNDLE="$DIR/bundle.tar.xz"
# Room left for the repository itself in the device tool's 64 MiB.
MAX_BUNDLE_MIB=56
# Debian 12 packages unpacked into the bundle's lib/ (used only where the machine lacks them).
DEBS=(libvulkan1 libglvnd0 libx11-6 libxext6 libxcb1 libxau6 libxdmcp6 libbsd0 libmd0 libstdc++6)

die() {
  echo "gpu-check: $*" >&2
  exit 1
}

pack() {
  set -e
  cd "$ROOT"
  [ -d node_modules/webgpu ] || die "run npm ci first"
  command -v xz >/dev/null || die "xz is needed (apt-get install xz-utils)"
  rm -rf "$DIR"
  mkdir -p "$DIR"
  local stage
  stage=$(mktemp -d)
  # Expanded now: the variable is local and gone when the trap runs.
  # shellcheck disable=SC2064
  trap "rm -rf '$stage'" EXIT
  mkdir -p "$stage/app" "$stage/lib" "$stage/bin" "$stage/debs"

  echo "== compile the check (bench/out)"
  npx tsc -p bench/tsconfig.json
  cp -r bench/out "$stage/app/bench-out"
  cp bench/gpu_check_torch.py bench/torch_bench.py "$stage/app/"
  cp package.json "$stage/app/"

  echo "== trace the files the check loads"
  node bench/out/bench/gpu-check.js trace --out "$stage/trace.txt" 2>/dev/null
  local file pkg
  grep "^$ROOT/node_modules/" "$stage/trace.txt" | while read -r file; do
    rel=${file#"$ROOT"/}
    mkdir -p "$stage/app/$(dirname "$rel")"
    cp "$file" "$stage/app/$rel"
    # Each package's package.json: require() resolves a package's entry from it.
    pkg=$(echo "$rel" | sed -E 's#^(node_modules/(@[^/]+/)?[^/]+)/.*#\1#')
    cp "$pkg/package.json" "$stage/app/$pkg/package.json"
  done
  [ -f "$stage/app/node_modules/webgpu/dist/linux-x64/dawn.node" ] || die "the trace has no dawn.node"

  echo "== the reference: wasm's short run of VGG-16 (about a minute)"
  node bench/out/bench/gpu-check.js reference --out "$stage/app/reference.json"
  node bench/out/bench/gpu-check.js spec --out "$stage/app/spec.json"

  echo "== Debian packages: ${DEBS[*]}"
  (cd "$stage/debs" && { apt-get download "${DEBS[@]}" 2>/dev/null || { apt-get update -qq && apt-get download "${DEBS[@]}"; }; })
  local deb
  for deb in "$stage"/debs/*.deb; do
    dpkg -x "$deb" "$stage/debs/x"
  done
  # Shared libraries only (symbolic links kept), from the multiarch folder.
  cp -a "$stage"/debs/x/usr/lib/x86_64-linux-gnu/*.so.* "$stage/lib/"
  rm -f "$stage"/lib/*.py
  ls "$stage/lib/libvulkan.so.1" >/dev/null || die "libvulkan.so.1 is missing from the bundle"

  echo "== node $(node --version), stripped"
  # The official builds link only glibc and libstdc++; a distribution's node (libnode, libuv,
  # ICU as shared libraries) would not start there alone.
  if ldd "$(command -v node)" | grep -qE "libnode|libuv|libicu|libssl|libcrypto"; then
    die "$(command -v node) links shared libraries that the GPU machine may lack: use an official Node.js build"
  fi
  strip -o "$stage/bin/node" "$(command -v node)" 2>/dev/null || cp "$(command -v node)" "$stage/bin/node"
  chmod +x "$stage/bin/node"

  echo "== compress"
  rm -rf "$stage/debs" "$stage/trace.txt"
  tar -C "$stage" -cf - app lib bin | xz -T0 -6 >"$BUNDLE"
  local bytes mib
  bytes=$(stat -c %s "$BUNDLE")
  mib=$(((bytes + 1048575) / 1048576))
  du -sh "$stage"/* | sed 's/^/   unpacked /'
  echo "bundle: $BUNDLE, $bytes bytes ($mib MiB; the device tool carries 64 MiB with the repository)"
  [ "$mib" -le "$MAX_BUNDLE_MIB" ] || die "the bundle is over $MAX_BUNDLE_MIB MiB"
}

# Where the machine lacks a library the bundle brings, the bundle's is used: one folder of
# links to those alone, so that the machine's own libraries keep precedence.
link_missing_libs() {
  local fs=$1 lib name
  mkdir -p "$fs/uselib"
  for lib in "$fs"/lib/*.so.*; do
    name=$(basename "$lib")
    # Only sonames (libfoo.so.N), not the versioned files they point to.
    [[ $name =~ \.so\.[0-9]+$ ]] || continue
    if [ "$name" = libstdc++.so.6 ]; then
      local system
      system=$(ldconfig -p | awk '/libstdc\+\+\.so\.6 .*x86-64/ {print $NF; exit}')
      if [ -n "$system" ] && grep -q GLIBCXX_3.4.30 "$system"; then continue; fi
    elif ldconfig -p | grep -q "^[[:space:]]*$name (.*x86-64"; then
      continue
    fi
    ln -sf "$(readlink -f "$lib")" "$fs/uselib/$name"
    echo "   using the bundle's $name"
  done
}

run() {
  local out=${OUT:-/tmp/gpu-check-out}
  mkdir -p "$out"
  [ -f "$BUNDLE" ] || die "no $BUNDLE: run 'bash bench/gpu-check.sh pack' here first and carry .gpu-check"
  local fs=/tmp/filterscope-gpu-check
  rm -rf "$fs"
  mkdir -p "$fs"
  exec > >(tee "$out/run.log") 2>&1
  echo "== unpack ($(stat -c %s "$BUNDLE") bytes)"
  python3 - "$BUNDLE" "$fs" <<'PY' || die "unpacking failed"
import sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    try:
        t.extractall(sys.argv[2], filter="tar")
    except TypeError:  # Python before 3.12
        t.extractall(sys.argv[2])
PY

  echo "== the machine"
  nvidia-smi -L 2>&1 | head -4
  ldd --version 2>&1 | head -1
  link_missing_libs "$fs"
  # The NVIDIA driver's Vulkan ICD: where the container toolkit mounts it, or the image's folders.
  local icd=${VK_DRIVER_FILES:-}
  if [ -z "$icd" ]; then
    for candidate in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json \
      /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json \
      /usr/local/share/vulkan/icd.d/nvidia_icd.json; do
      if [ -f "$candidate" ]; then
        icd=$candidate
        break
      fi
    done
  fi
  if [ -n "$icd" ]; then
    echo "   Vulkan ICD: $icd: $(tr -d '\n ' <"$icd" | head -c 300)"
    export VK_DRIVER_FILES=$icd VK_ICD_FILENAMES=$icd
  else
    echo "   no nvidia_icd.json found: Dawn will find no Vulkan adapter"
  fi
  # The driver's libraries (the ICD names libGLX_nvidia.so.0), where the toolkit puts them.
  local extra="$fs/uselib"
  for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do [ -d "$d" ] && extra="$extra:$d"; done
  export LD_LIBRARY_PATH="$extra${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  ldconfig -p | grep -E "libGLX_nvidia|libvulkan|libEGL_nvidia" | head -5
  local node="$fs/bin/node" app="$fs/app"
  # A dry run without a GPU: the software adapter, small batches, longer limits.
  local gpu_args=(--batch 128 --seconds 6) kernel_args=(--hardware --repeats 5 --rounds 1) limit=150
  if [ "${GPU_CHECK_SOFTWARE:-}" = 1 ]; then
    gpu_args=(--batch 8 --seconds 1 --allow-software)
    kernel_args=(--repeats 2 --rounds 1)
    limit=900
  fi
  "$node" --version || die "the bundled node does not start here"
  cd "$app"

  echo "== 1. PyTorch on the GPU (at most 75 s)"
  PYTHONUNBUFFERED=1 timeout 75 python3 gpu_check_torch.py --spec spec.json --batch 128 \
    --seconds 6 --out "$out/torch.json" || echo "   PyTorch part failed or timed out (exit $?)"

  echo "== 2. webgpu: adapter, short run against wasm, images/s (at most $limit s)"
  timeout "$limit" "$node" bench-out/bench/gpu-check.js gpu --reference reference.json \
    --out "$out/check.json" "${gpu_args[@]}"
  local check=$?
  [ $check -eq 0 ] || echo "   webgpu check exit $check (2: differs from wasm; 124: timed out)"

  echo "== 3. filterscope's webgpu kernels against the stock ones (at most $((limit / 3)) s)"
  timeout $((limit / 3)) "$node" bench-out/bench/webgpu-kernels.js "${kernel_args[@]}" \
    2>&1 | tee "$out/kernels.txt" || echo "   kernel benchmark failed or timed out"

  echo "== 4. summary"
  python3 - "$out" <<'PY' | tee "$out/summary.txt"
import json, os, sys
out = sys.argv[1]
def load(name):
    try:
        with open(os.path.join(out, name)) as f:
            return json.load(f)
    except Exception as e:
        print(f"{name}: not there ({e})")
        return None
check, torch = load("check.json"), load("torch.json")
if check:
    print(f"device: {check.get('device')}")
    if check.get("error"):
        print(f"webgpu failed: {check['error']}")
    run = check.get("shortRun")
    if run:
        e = run["errors"]
        print(f"short run against wasm: {'MATCHES' if run['ok'] else 'DIFFERS'} "
              f"(first loss {e['firstLoss']:.1e}, gradients {e['gradients']:.1e} at {e['worstGradient']}, "
              f"later losses {e['laterLosses']:.1e})")
speed = (check or {}).get("throughput")
rows = []
if speed:
    rows.append(("filterscope webgpu", speed["training"]["imagesPerSecond"], speed["inference"]["imagesPerSecond"]))
for r in (torch or {}).get("runs", []):
    rows.append((f"PyTorch {torch['torch']} TF32 {'on' if r['tf32'] else 'off'}",
                 r["training"]["imagesPerSecond"], r["inference"]["imagesPerSecond"]))
if rows:
    batch = (speed or {}).get("batch") or (torch or {}).get("batch")
    print(f"\nVGG-16 32x32x3, batch {batch}, images/s" + (f" on {torch['device']}" if torch else ""))
    print(f"| {'':32} | {'training':>9} | {'inference':>9} |")
    for name, t, i in rows:
        print(f"| {name:32} | {t:9.0f} | {i:9.0f} |")
if speed and torch:
    for r in torch["runs"]:
        print(f"webgpu / PyTorch (TF32 {'on' if r['tf32'] else 'off'}): training "
              f"{speed['training']['imagesPerSecond'] / r['training']['imagesPerSecond']:.2f}, inference "
              f"{speed['inference']['imagesPerSecond'] / r['inference']['imagesPerSecond']:.2f}")
if speed:
    t = speed["training"]["imagesPerSecond"]
    print(f"target: training >= 1000 images/s: {'met' if t >= 1000 else 'NOT met'} ({t:.0f})")
PY
  return $check
}

case "${1:-}" in
  pack) pack ;;
  run) run ;;
  *) die "usage: bash bench/gpu-check.sh pack|run" ;;
esac
