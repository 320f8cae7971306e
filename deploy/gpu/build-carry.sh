#!/usr/bin/env bash
# Builds .devcarry/carry/: everything bench/train-throughput.ts needs on a Linux x86-64 machine
# with no Node and no network (docs/gpu.md, "Running it on a GPU machine without Node").
#
#   npm install                      # once: tfjs, tfjs-backend-wasm and esbuild from node_modules
#   bash deploy/gpu/build-carry.sh   # from the repository root
#
# Re-running rebuilds the folder from scratch. Outputs:
#   node.xz          the running Node binary (command -v node), xz -9
#   bench.mjs        the bench and everything it imports, one ESM file (esbuild)
#   wasm/*.wasm      tfjs-backend-wasm's three binaries
#   webgpu.tar.xz    npm webgpu@0.6.2: index.js, package.json, LICENSE.md, dist/linux-x64/dawn.node
#   libvulkan1_*.deb the Vulkan loader (optional: only for machines without libvulkan.so.1)
#   run.sh           deploy/gpu/run.sh, which unpacks all this to /tmp/df and runs the bench
set -euo pipefail

WEBGPU_VERSION=0.6.2
ROOT=$(pwd)
CARRY=.devcarry/carry
NPM_PREFIX=.devcarry/npm

die() { echo "build-carry: $*" >&2; exit 1; }
say() { echo "build-carry: $*"; }

[[ -f package.json && -f bench/train-throughput.ts && -f deploy/gpu/run.sh ]] ||
  die "run me from the repository root (bash deploy/gpu/build-carry.sh)"
[[ -x node_modules/.bin/esbuild ]] || die "node_modules/.bin/esbuild is missing: run npm install first"
WASM_DIST=node_modules/@tensorflow/tfjs-backend-wasm/dist
ls "$WASM_DIST"/*.wasm >/dev/null 2>&1 || die "no .wasm files in $WASM_DIST: run npm install first"
command -v xz >/dev/null || die "xz is needed to pack node and the webgpu addon (apt-get install xz-utils)"
NODE_BIN=$(command -v node) || die "no node on PATH"
NODE_BIN=$(readlink -f "$NODE_BIN")
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) ;;
  *) say "WARNING: this is $(uname -s)-$(uname -m); the folder is meant for Linux x86-64 (node binary, dawn.node)" ;;
esac

# a fresh folder each time; a previously downloaded loader .deb is kept aside in case apt fails now
OLD_DEB_DIR=$(mktemp -d)
trap 'rm -rf "$OLD_DEB_DIR"' EXIT
if compgen -G "$CARRY/libvulkan1_*.deb" >/dev/null; then cp "$CARRY"/libvulkan1_*.deb "$OLD_DEB_DIR"/; fi
rm -rf "$CARRY"
mkdir -p "$CARRY/wasm"

# 1. node
say "packing $NODE_BIN ($("$NODE_BIN" --version)) with xz -9 (a minute or two) ..."
xz -9 -T1 -c "$NODE_BIN" > "$CARRY/node.xz"

# 2. the webgpu package (Dawn's Node addon), only the files the bench loads
#    (its only install script removes a macOS quarantine attribute: not needed here)
say "npm install --prefix $NPM_PREFIX webgpu@$WEBGPU_VERSION ..."
mkdir -p "$NPM_PREFIX"
npm install --prefix "$NPM_PREFIX" --no-audit --no-fund --ignore-scripts "webgpu@$WEBGPU_VERSION" >/dev/null
WG="$NPM_PREFIX/node_modules/webgpu"
for f in index.js package.json LICENSE.md dist/linux-x64/dawn.node; do
  [[ -f "$WG/$f" ]] || die "$WG/$f is missing after npm install"
done
got=$(node -p "require('./$WG/package.json').version")
[[ "$got" == "$WEBGPU_VERSION" ]] || die "installed webgpu is $got, not $WEBGPU_VERSION"
(cd "$NPM_PREFIX/node_modules" && tar -cJf "$ROOT/$CARRY/webgpu.tar.xz" \
  webgpu/index.js webgpu/package.json webgpu/LICENSE.md webgpu/dist/linux-x64/dawn.node)

# 3. the Vulkan loader, for machines that lack one (optional)
if command -v apt-get >/dev/null && (cd "$CARRY" && apt-get download libvulkan1 >/dev/null 2>"$OLD_DEB_DIR/apt.err"); then
  say "downloaded $(cd "$CARRY" && ls libvulkan1_*.deb)"
elif compgen -G "$OLD_DEB_DIR/libvulkan1_*.deb" >/dev/null; then
  cp "$OLD_DEB_DIR"/libvulkan1_*.deb "$CARRY"/
  say "apt-get download libvulkan1 failed; kept the previous $(cd "$CARRY" && ls libvulkan1_*.deb)"
else
  rm -f "$CARRY"/libvulkan1_*.deb
  [[ -s "$OLD_DEB_DIR/apt.err" ]] && sed 's/^/  apt-get: /' "$OLD_DEB_DIR/apt.err" >&2
  say "NOTE: no libvulkan1 .deb (apt-get download libvulkan1 is unavailable or failed here)."
  say "      It is optional: run.sh needs it only on a machine without a Vulkan loader"
  say "      (ldconfig -p lists no libvulkan.so.1). Drop a Debian libvulkan1_*.deb into $CARRY to add it."
fi

# 4. tfjs-backend-wasm's binaries
cp "$WASM_DIST"/*.wasm "$CARRY/wasm/"

# 5. the bench, bundled; the banner gives the ESM bundle the require, __filename and __dirname that
#    tfjs' Node code and Emscripten's loader use
say "bundling bench/train-throughput.ts ..."
node_modules/.bin/esbuild bench/train-throughput.ts --bundle --platform=node --format=esm \
  --target=node20 --outfile="$CARRY/bench.mjs" --legal-comments=none --log-level=warning \
  --banner:js="import { createRequire as __df_cr } from 'node:module'; import { fileURLToPath as __df_fu } from 'node:url'; import { dirname as __df_dn } from 'node:path'; const require = __df_cr(import.meta.url); const __filename = __df_fu(import.meta.url); const __dirname = __df_dn(__filename);"

# 6. the script that runs it all on the machine
cp deploy/gpu/run.sh "$CARRY/run.sh"
chmod +x "$CARRY/run.sh"

say "built $CARRY:"
(cd "$CARRY" && ls -l . wasm | sed 's/^/  /')
du -sh "$CARRY"
