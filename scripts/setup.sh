#!/usr/bin/env bash
# Installs what rrduino-gateway needs on Debian/Ubuntu with Node >= 20.12: rrdtool (the
# storage engine), then the npm packages, and compiles. With --test (`npm test`) also what
# the tests run for real: rrdcached, carbon (graphite-carbon, python3-whisper), socat (serial ptys),
# openssl (test certificates), chromium (the status page's browser test), and the board
# firmware's toolchain: avr-gcc with Arduino's AVR core, simavr, g++ (host builds); and
# carbon-c-relay, which `npm run bench` forwards the same burst through for comparison.
# Safe to run again: installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# 20.12: crypto.hash, which the HMACs are computed with.
need_node=20.12
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 12) ? 0 : 1)' 2>/dev/null; then
  echo "setup: Node.js >= $need_node is required (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

packages=(rrdtool)
if [ "${1:-}" = "--test" ]; then
  packages+=(socat rrdcached graphite-carbon python3-whisper openssl chromium g++ gcc-avr avr-libc binutils-avr arduino-core-avr simavr libsimavr-dev carbon-c-relay faketime)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat node_modules/.setup-lock-sum 2>/dev/null)" != "$lock_sum" ]; then
  echo "setup: installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_sum" > node_modules/.setup-lock-sum
fi
npm run --silent build
echo "setup: ready (rrdtool $(rrdtool --version | head -1 | awk '{print $2}'), node $(node --version))"
