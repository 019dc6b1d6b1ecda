#!/usr/bin/env bash
# Stops what ./start_demo.sh started: the services, all at once, then the local broker and the
# local PostgreSQL if it started them. The services get SIGTERM and time to shut down gracefully
# (consumers leave their groups, offsets are committed); anything still running after 15 s is
# killed. The broker goes last, so the services can still say goodbye to it; it gets SIGINT,
# because it answers SIGTERM by waiting up to 5 s for the tasks of clients that are already gone,
# and SIGINT by stopping at once (nothing is in flight by then; its SQLite storage commits each
# write).
set -uo pipefail
cd "$(dirname "$0")"

# alive NAME: the pid in pid/NAME.pid, if it is a live process of ours; the file goes otherwise.
alive() {
  local pid_file="pid/$1.pid" pid
  [ -f "$pid_file" ] || return 1
  pid=$(cat "$pid_file")
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -qa "$2" "/proc/$pid/cmdline" 2>/dev/null; then
    echo "$pid"
  else
    rm -f "$pid_file"
    return 1
  fi
}

# running PID: the process exists and has not exited. One that has exited stays a zombie until
# its parent (here init, which may reap late) collects it, and kill -0 still finds a zombie.
running() {
  local state
  kill -0 "$1" 2>/dev/null || return 1
  state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
  [ -n "$state" ] && [ "$state" != Z ]
}

# stop SIGNAL NAME=PID...: SIGNAL to each, then wait for all of them together.
stop() {
  local signal=$1 entry name pid
  shift
  for entry in "$@"; do kill "-$signal" "${entry#*=}" 2>/dev/null; done
  for _ in $(seq 150); do
    local running=0
    for entry in "$@"; do running "${entry#*=}" && running=1; done
    [ "$running" = 0 ] && break
    sleep 0.1
  done
  for entry in "$@"; do
    name=${entry%%=*}
    pid=${entry#*=}
    if running "$pid"; then
      kill -KILL "$pid" 2>/dev/null
      echo "Killed $name (pid $pid): it did not stop within 15 s"
    else
      echo "Stopped $name (pid $pid)"
    fi
    rm -f "pid/$name.pid"
  done
}

services=()
for pid_file in pid/*.pid; do
  [ -f "$pid_file" ] || continue
  name=$(basename "$pid_file" .pid)
  [ "$name" = broker ] || [ "$name" = postgres ] && continue
  if pid=$(alive "$name" "target/release/$name"); then
    services+=("$name=$pid")
  fi
done
[ ${#services[@]} -gt 0 ] && stop TERM "${services[@]}"
pid=$(alive broker nisshi) && stop INT "broker=$pid"
# PostgreSQL's SIGTERM is its "smart" shutdown, immediate once no client is connected.
pid=$(alive postgres postgres) && stop TERM "postgres=$pid"
exit 0
