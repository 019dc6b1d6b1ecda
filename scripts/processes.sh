# shellcheck shell=bash
# The demo's processes, as start_demo.sh and stop_demo.sh (which source this file, from the
# checkout's root) tell whether one runs: one definition for both. Asked of ps and kill, with only
# the options that Linux's procps and macOS's BSD ps share, in bash 3.2 (macOS's).

if ! command -v ps >/dev/null 2>&1; then
  echo "The demo scripts need ps (Debian and Ubuntu: apt-get install procps)" >&2
  exit 1
fi

# exited PID: the process is gone or a zombie. One that has exited stays a zombie until its
# parent (for the demo's services, often init, which may reap late) collects it, and kill -0
# still finds a zombie; ps shows it with the state Z.
exited() {
  local state
  state=$(ps -o stat= -p "$1" 2>/dev/null) || true
  # ps pads the column.
  state=${state// /}
  [ -z "$state" ] || [ "${state:0:1}" = Z ]
}

# running PID: the process exists, has not exited, and can be signalled.
running() {
  kill -0 "$1" 2>/dev/null && ! exited "$1"
}

# demo_pid NAME PATTERN: prints the pid in pid/NAME.pid when it names a running process whose
# command line holds PATTERN. A pid file left behind by a crash or a reboot may name a pid that
# now belongs to something else, which the command line tells apart.
demo_pid() {
  local pid_file="pid/$1.pid" pid command_line
  [ -f "$pid_file" ] || return 1
  pid=$(cat "$pid_file")
  case "$pid" in "" | *[!0-9]*) return 1 ;; esac
  running "$pid" || return 1
  # -ww: the whole command line, however wide.
  command_line=$(ps -ww -o args= -p "$pid" 2>/dev/null) || return 1
  [[ "$command_line" == *"$2"* ]] || return 1
  echo "$pid"
}
