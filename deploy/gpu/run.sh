#!/usr/bin/env bash
# Runs bench/train-throughput.ts (bundled) on a Linux x86-64 machine with no Node and no network,
# from the files of .devcarry/carry (built by deploy/gpu/build-carry.sh; docs/gpu.md).
#
#   OUT=<an empty folder> timeout 360 bash .devcarry/carry/run.sh [bench options, which override]
#
# Run it from the root of a copy of the repository's files (the bench reads public/demos/).
# Leaves run.log, results.json and env.txt in $OUT (default ./gpu-out).
#
# Environment (all optional):
#   OUT             where the results go (default ./gpu-out)
#   DF_DIR          where node, the webgpu addon and (if needed) the Vulkan loader are unpacked (/tmp/df)
#   DF_VK_ICD       a Vulkan ICD json to use instead of the NVIDIA one, e.g. Chromium's SwiftShader:
#                   /usr/lib/chromium/vk_swiftshader_icd.json
#   DF_TIMEOUT      seconds for the whole bench (280)
#   DF_DAWN_FLAGS   passed as --dawn-flags (e.g. backend=null)
set -euo pipefail

CARRY=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DF=${DF_DIR:-/tmp/df}
OUT=${OUT:-./gpu-out}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
LOG="$OUT/run.log"
: > "$LOG"
say() { echo "run.sh: $*" | tee -a "$LOG"; }
die() { say "ERROR: $*"; exit 2; }

# the repository's root: here if it has the demos, else the folder two levels above the carry folder
if [[ -d public/demos/breast-cancer ]]; then ROOT=$(pwd)
elif [[ -d "$CARRY/../../public/demos/breast-cancer" ]]; then ROOT=$(cd "$CARRY/../.." && pwd)
else die "no public/demos/breast-cancer here or above $CARRY: run me from the root of a copy of the repository"
fi
cd "$ROOT"
for f in node.xz bench.mjs webgpu.tar.xz wasm/tfjs-backend-wasm.wasm; do
  [[ -f "$CARRY/$f" ]] || die "$CARRY/$f is missing (bash deploy/gpu/build-carry.sh builds the folder)"
done

# decompress an .xz file to stdout, with xz or, where it is missing, Python's lzma
unxz_to_stdout() {
  if command -v xz >/dev/null; then xz -dc "$1"
  elif command -v python3 >/dev/null; then python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$1"
  else die "neither xz nor python3 is available to unpack $1"
  fi
}
# extract a tar file (any compression) into a folder, with tar or Python's tarfile
untar_into() { # archive dir
  mkdir -p "$2"
  if [[ "$1" != *.xz ]] || command -v xz >/dev/null; then tar -xf "$1" -C "$2"
  else python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$1" "$2"
  fi
}

# 1. node and the webgpu addon
say "unpacking node and the webgpu addon into $DF"
mkdir -p "$DF"
unxz_to_stdout "$CARRY/node.xz" > "$DF/node.part"
chmod +x "$DF/node.part" && mv -f "$DF/node.part" "$DF/node"
rm -rf "$DF/webgpu"
untar_into "$CARRY/webgpu.tar.xz" "$DF"
[[ -f "$DF/webgpu/index.js" && -f "$DF/webgpu/dist/linux-x64/dawn.node" ]] || die "the webgpu addon did not unpack to $DF/webgpu"
"$DF/node" --version >/dev/null || die "the carried node does not run here"

# 2. the Vulkan loader: the machine's, else the carried Debian package, unpacked under $DF/vk
LDCONFIG=$(command -v ldconfig || echo /sbin/ldconfig)
LOADER=$("$LDCONFIG" -p 2>/dev/null | awk '/libvulkan\.so\.1 / && /x86-64/ { print $NF; exit }' || true)
if [[ -n "$LOADER" ]]; then
  say "Vulkan loader: the machine's $LOADER"
else
  DEB=$(ls "$CARRY"/libvulkan1_*.deb 2>/dev/null | head -1 || true)
  if [[ -z "$DEB" ]]; then
    say "WARNING: no libvulkan.so.1 on this machine and no libvulkan1_*.deb in $CARRY: webgpu will find no adapter"
    LOADER="none"
  else
    rm -rf "$DF/vk" && mkdir -p "$DF/vk"
    if command -v dpkg >/dev/null; then dpkg -x "$DEB" "$DF/vk"
    elif command -v ar >/dev/null; then
      (cd "$DF/vk" && ar x "$DEB")
      DATA=$(ls "$DF"/vk/data.tar.* | head -1)
      untar_into "$DATA" "$DF/vk"
      rm -f "$DF"/vk/debian-binary "$DF"/vk/control.tar.* "$DF"/vk/data.tar.*
    else die "no libvulkan.so.1 here, and neither dpkg nor ar to unpack $DEB"
    fi
    LOADER=$(find "$DF/vk" -name 'libvulkan.so.1*' \( -type f -o -type l \) | sort | head -1)
    [[ -n "$LOADER" ]] || die "no libvulkan.so.1 in $DEB"
    export LD_LIBRARY_PATH="$(dirname "$LOADER")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    say "Vulkan loader: $LOADER (from $(basename "$DEB"); LD_LIBRARY_PATH=$LD_LIBRARY_PATH)"
  fi
fi

# 3. the Vulkan driver (ICD): DF_VK_ICD, else the NVIDIA driver's
if [[ -n "${DF_VK_ICD:-}" ]]; then
  [[ -f "$DF_VK_ICD" ]] || die "DF_VK_ICD=$DF_VK_ICD does not exist"
  ICD=$DF_VK_ICD
elif [[ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]]; then
  ICD=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
else
  ICD=$(find /usr /etc /usr/local -name nvidia_icd.json 2>/dev/null | head -1 || true)
fi
if [[ -n "$ICD" ]]; then
  export VK_DRIVER_FILES="$ICD" VK_ICD_FILENAMES="$ICD"
  say "Vulkan ICD: $ICD"
else
  say "WARNING: no nvidia_icd.json under /usr/local/nvidia, /usr, /etc: the Vulkan loader is left to its defaults"
  ICD="none"
fi

# 4. what the machine is
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "host: $(uname -a)"
  echo "cpus: $(nproc) × $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)"
  echo "node: $("$DF/node" --version) (carried)"
  echo "root: $ROOT"
  echo "vulkan loader: $LOADER"
  echo "LD_LIBRARY_PATH: ${LD_LIBRARY_PATH:-}"
  echo "vulkan ICD: $ICD"
  [[ -f "$ICD" ]] && { echo "--- $ICD"; cat "$ICD"; echo; }
  echo "--- driver (/proc/driver/nvidia/version)"
  cat /proc/driver/nvidia/version 2>/dev/null || echo "none"
  echo "--- nvidia-smi"
  if command -v nvidia-smi >/dev/null; then nvidia-smi 2>&1 || true; else echo "no nvidia-smi"; fi
} > "$OUT/env.txt" 2>&1
say "wrote $OUT/env.txt"

# 5. the bench; run.sh's own arguments come last, so they override
ARGS=(--backends webgpu,wasm,cpu --steps 10 --warmup 2 --cpu-steps 2 --score-rows 256 --repeat 3
  --child-timeout 90 --json "$OUT/results.json"
  --wasm-dir "$CARRY/wasm" --webgpu-module "$DF/webgpu/index.js")
[[ -n "${DF_DAWN_FLAGS:-}" ]] && ARGS+=(--dawn-flags "$DF_DAWN_FLAGS")
TMO=${DF_TIMEOUT:-280}
say "timeout -k 10 $TMO node bench.mjs ${ARGS[*]} $*"
set +e
timeout -k 10 "$TMO" "$DF/node" "$CARRY/bench.mjs" "${ARGS[@]}" "$@" 2>&1 | tee -a "$LOG"
rc=${PIPESTATUS[0]}
set -e
[[ $rc -eq 124 || $rc -eq 137 ]] && say "the bench ran past ${TMO} s and was stopped"
[[ -f "$OUT/results.json" ]] && say "results: $OUT/results.json" || say "no results.json was written"
say "exit code $rc"
exit "$rc"
