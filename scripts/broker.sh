# shellcheck shell=bash
# The local broker: nisshi 0.8.1 as published on crates.io, with the shop's patch
# (broker/nisshi.patch; docs/broker.md says what it changes and why), built from broker/ with its
# committed Cargo.lock and installed as broker/bin/nisshi. start_demo.sh sources this file from
# the checkout's root; the tests and the benchmark run what it installs.
#
# A build is known by a fingerprint of everything that makes it (the patch, the manifest with
# its build profile, the lock file, the features): a change to any of them builds it again, and
# an interrupted build installs nothing.

readonly NISSHI_VERSION=0.8.1
# The published crates the build needs the sources of: the broker's binary crate and the crates
# the patch changes. Each is checked against crates.io's checksum (the lock file's).
readonly NISSHI_CRATES="
nisshi a357efb09b95f96964366d41b030341aa9c729544ae4dd9cdd012d7ef8e19a52
nisshi-storage 86f02c7bef648d9e8b00f9f6277f5bfad9e4a401db14c13e83e8d1f9b70ada4c
nisshi-schema 1a5e5fbcbed2c721ee807cb7d794e9ee9be2cfbf0e50fbc3b4532314612d5430
nisshi-storage-dynostore 92a8687a90b8a97f02f900f2fde327630f25d744f71067e47352c10395ab9372
"
# Only what the shop uses: memory storage (dynostore) and SQLite storage (libsql), which the
# tests' restartable brokers and `[local-broker] storage = sqlite` need.
readonly NISSHI_FEATURES=dynostore,libsql
readonly BROKER_DIR=broker
readonly BROKER_BIN=$BROKER_DIR/bin/nisshi
# How many crates a build with these features compiles, for its progress lines.
readonly NISSHI_CRATE_COUNT=465

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$@" | cut -d' ' -f1
  else
    shasum -a 256 "$@" | cut -d' ' -f1
  fi
}

# What the installed broker must have been built from.
broker_fingerprint() {
  {
    cat "$BROKER_DIR/nisshi.patch" "$BROKER_DIR/Cargo.toml" "$BROKER_DIR/Cargo.lock"
    echo "$NISSHI_VERSION $NISSHI_FEATURES"
  } | sha256
}

# The broker binary's absolute path (it is started from its data folder), when the one
# installed is this checkout's build; nothing otherwise.
broker_binary() {
  if [ -x "$BROKER_BIN" ] && [ "$(cat "$BROKER_BIN.fingerprint" 2>/dev/null)" = "$(broker_fingerprint)" ]; then
    echo "$PWD/$BROKER_BIN"
  fi
}

# fetch_crate NAME SHA256 DEST: the published NAME-version.crate, from cargo's cache when it is
# there, else from crates.io; refused unless its checksum is SHA256.
fetch_crate() {
  local name=$1 expected=$2 dest=$3 file cached
  file="$name-$NISSHI_VERSION.crate"
  cached=$(ls "${CARGO_HOME:-$HOME/.cargo}"/registry/cache/*/"$file" 2>/dev/null | head -n 1) || true
  if [ -n "$cached" ] && [ "$(sha256 "$cached")" = "$expected" ]; then
    cp "$cached" "$dest/$file"
  else
    curl --fail --silent --show-error --location --retry 3 \
      -o "$dest/$file" "https://static.crates.io/crates/$name/$file"
  fi
  if [ "$(sha256 "$dest/$file")" != "$expected" ]; then
    echo "$file does not have crates.io's checksum; not building from it" >&2
    return 1
  fi
}

# Prints how many crates of about TOTAL the build in LOG has compiled, every 30 s, until the
# process PID ends.
report_progress() {
  local log=$1 total=$2 pid=$3 started=$SECONDS done
  while kill -0 "$pid" 2>/dev/null; do
    sleep 30
    kill -0 "$pid" 2>/dev/null || break
    done=$(grep -c '^ *Compiling ' "$log" 2>/dev/null) || true
    echo "      $((done)) of about $total crates compiled ($(((SECONDS - started) / 60)) min so far)"
  done
}

install_broker() {
  if [ -n "$(broker_binary)" ]; then
    return 0
  fi
  local fingerprint build log started=$SECONDS line name checksum
  fingerprint=$(broker_fingerprint)
  build=$BROKER_DIR/build
  mkdir -p logs "$BROKER_DIR/bin"
  log=logs/broker-build.log
  echo "Building the local Kafka-compatible broker (nisshi $NISSHI_VERSION with the shop's patch, docs/broker.md)."
  echo "This happens once and takes about 10 minutes on two cores; the build's output is in $log."

  echo "  1/4 Fetching the published crates (seconds)..."
  rm -rf "$build"
  mkdir -p "$build"
  while read -r name checksum; do
    [ -n "$name" ] || continue
    fetch_crate "$name" "$checksum" "$build" || return 1
    tar xzf "$build/$name-$NISSHI_VERSION.crate" -C "$build"
  done <<<"$NISSHI_CRATES"

  echo "  2/4 Applying broker/nisshi.patch..."
  # Outside any repository, so the patch's paths are read from broker/build, not from the
  # checkout's root.
  if ! (cd "$build" && GIT_CEILING_DIRECTORIES="$(cd .. && pwd)" git apply -p1 ../nisshi.patch); then
    echo "broker/nisshi.patch does not apply to nisshi $NISSHI_VERSION" >&2
    return 1
  fi

  echo "  3/4 Compiling (about 10 minutes on two cores; progress every 30 s)..."
  # nisshi declares rustc 1.96 (through one dependency) but builds and runs on 1.95.
  cargo build --release --locked --ignore-rust-version --manifest-path "$BROKER_DIR/Cargo.toml" \
    --target-dir "$BROKER_DIR/target" -p nisshi --no-default-features --features "$NISSHI_FEATURES" \
    >"$log" 2>&1 &
  local cargo_pid=$!
  report_progress "$log" "$NISSHI_CRATE_COUNT" "$cargo_pid" &
  local reporter=$!
  # An interrupted build leaves nothing installed; what it compiled is reused by the next one.
  trap 'kill "$cargo_pid" "$reporter" 2>/dev/null; exit 130' INT TERM
  if ! wait "$cargo_pid"; then
    kill "$reporter" 2>/dev/null || true
    trap - INT TERM
    tail -n 20 "$log" >&2
    echo "The broker did not build; the whole output is in $log" >&2
    return 1
  fi
  kill "$reporter" 2>/dev/null || true
  wait "$reporter" 2>/dev/null || true
  trap - INT TERM

  echo "  4/4 Installing $BROKER_BIN..."
  cp "$BROKER_DIR/target/release/nisshi" "$BROKER_BIN.new"
  mv "$BROKER_BIN.new" "$BROKER_BIN"
  echo "$fingerprint" >"$BROKER_BIN.fingerprint"
  # What the build left (about 1.7 GB) is not needed to run it, as `cargo install` leaves
  # nothing; PIZZA_KEEP_BROKER_BUILD=1 keeps it, for a quicker build after a change to the patch.
  if [ -z "${PIZZA_KEEP_BROKER_BUILD:-}" ]; then
    rm -rf "$BROKER_DIR/target" "$build"
  fi
  echo "The broker is built ($(((SECONDS - started) / 60)) min $(((SECONDS - started) % 60)) s)."
}
