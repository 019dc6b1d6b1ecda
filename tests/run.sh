#!/usr/bin/env bash
# The test command: installs what the tests need and is missing (the local broker; Chromium and
# PostgreSQL and Prometheus from Debian's packages; the browser driver from npm), then runs every
# test: unit, integration on real brokers and a real PostgreSQL, and the browser test.
set -euo pipefail
cd "$(dirname "$0")/.."

./start_demo.sh --install-broker

# Debian packages: Chromium for the browser test, PostgreSQL for the stores on a database server,
# Prometheus to scrape the services' metrics (tests/it/metrics.rs), procps for the demo scripts,
# openssl to make the TLS certificates of the secured broker (tests/harness/certificates.rs),
# Node.js and npm to drive Chromium (tests/browser/).
missing=()
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || missing+=(chromium)
command -v openssl >/dev/null || missing+=(openssl)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || [ -n "${PG_BIN:-}" ] || missing+=(postgresql)
[ -x "${PROMETHEUS:-/usr/bin/prometheus}" ] || missing+=(prometheus)
# ps: the demo scripts ask it whether a process runs (slim images lack it).
command -v ps >/dev/null || missing+=(procps)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "Installing ${missing[*]} (Debian packages)..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "The tests need: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

if [ "$(node -e 'console.log(process.versions.node.split(".")[0])')" -lt 18 ]; then
  echo "The browser test needs Node.js 18 or newer, not $(node --version)" >&2
  exit 1
fi
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)

# Brokers and services of several tests share two cores; three at a time keeps them responsive.
cargo test --release --workspace --no-fail-fast -- --test-threads=3
