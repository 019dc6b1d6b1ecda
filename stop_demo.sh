#!/usr/bin/env bash
# Stops what ./start_demo.sh started: the five services, then the local broker if it started one.
# Each gets SIGTERM and time to shut down gracefully (consumers leave their groups, offsets are
# committed); anything still running after 15 s is killed.
set -uo pipefail
cd "$(dirname "$0")"

stop() {
  local name=$1 pid_file="pid/$1.pid" pid
  [ -f "$pid_file" ] || return 0
  pid=$(cat "$pid_file")
  if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null || ! grep -qa "$2" "/proc/$pid/cmdline" 2>/dev/null; then
    rm -f "$pid_file"
    return 0
  fi
  kill -TERM "$pid"
  for _ in $(seq 150); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null
    echo "Killed $name (pid $pid): it did not stop within 15 s"
  else
    echo "Stopped $name (pid $pid)"
  fi
  rm -f "$pid_file"
}

for service in webapp assemble bake delivery status; do
  stop "$service" "target/release/$service"
done
stop broker tansu
exit 0
