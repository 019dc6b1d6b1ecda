#!/usr/bin/env bash
# Stops what ./start_demo.sh started: the services, all at once, then the local broker and the
# local PostgreSQL if it started them, with the original's lines ("Stopping process pid/NAME.pid..."
# each, "Demo stopped" at the end). The services get SIGTERM and time to shut down gracefully
# (consumers leave their groups, offsets are committed); anything still running after 15 s is
# killed. The broker goes last, so the services can still say goodbye to it; it gets SIGINT,
# because it answers SIGTERM by waiting up to 5 s for the tasks of clients that are already gone,
# and SIGINT by stopping at once (nothing is in flight by then; its SQLite storage commits each
# write).
#
# ./stop_demo.sh NAME...  stops only the services named (webapp, status, assemble, bake,
# delivery), the same graceful way, and leaves the rest running: ./start_demo.sh then starts
# them again. The lesson in the README's "Lose the view, keep the history" stops the two that
# hold the orders view this way.
set -uo pipefail
cd "$(dirname "$0")" || exit 1
. scripts/processes.sh

# alive NAME PATTERN: the pid in pid/NAME.pid, if it is a running process of ours (see demo_pid);
# a pid file that names none is removed without a word.
alive() {
  demo_pid "$1" "$2" || {
    rm -f "pid/$1.pid"
    return 1
  }
}

# stop SIGNAL NAME=PID...: SIGNAL to each, then wait for all of them together.
stop() {
  local signal=$1 entry name pid tries still_running
  shift
  for entry in "$@"; do
    printf '\nStopping process pid/%s.pid...\n' "${entry%%=*}"
    kill "-$signal" "${entry#*=}" 2>/dev/null
  done
  for ((tries = 0; tries < 150; tries++)); do
    still_running=0
    for entry in "$@"; do running "${entry#*=}" && still_running=1; done
    [ "$still_running" = 0 ] && break
    sleep 0.1
  done
  for entry in "$@"; do
    name=${entry%%=*}
    pid=${entry#*=}
    if running "$pid"; then
      kill -KILL "$pid" 2>/dev/null
      echo "Killed $name (pid $pid): it did not stop within 15 s"
    fi
    rm -f "pid/$name.pid"
  done
}

if [ $# -gt 0 ]; then
  known=" webapp status assemble bake delivery "
  services=()
  for name in "$@"; do
    if [[ "$known" != *" $name "* ]]; then
      echo "stop_demo.sh: $name is not one of the services:$known" >&2
      exit 2
    fi
    if pid=$(alive "$name" "target/release/$name"); then
      services+=("$name=$pid")
    else
      echo "$name is not running"
    fi
  done
  if [ ${#services[@]} -gt 0 ]; then
    stop TERM "${services[@]}"
    printf '\nStopped %s; ./start_demo.sh starts again what is not running\n\n' "${services[*]%%=*}"
  fi
  exit 0
fi

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
printf '\nDemo stopped\n\n'
exit 0
