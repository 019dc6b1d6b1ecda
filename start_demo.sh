#!/usr/bin/env bash
# Starts the pizza shop: builds the binaries if needed, starts a local broker when the Kafka
# configuration points at this machine and nothing listens there (and a local PostgreSQL, the
# same way, when a state store is on one), creates the topics, starts the five services in the
# background and waits until the web app answers.
#
#   ./start_demo.sh [KAFKA_CONFIG_FILE] [SYS_CONFIG_FILE]     defaults: localhost.ini default.ini
#   ./start_demo.sh --install-broker                           only install the local broker
set -euo pipefail
cd "$(dirname "$0")"
. scripts/processes.sh
. scripts/broker.sh

usage() {
  echo "usage: $0 [KAFKA_CONFIG_FILE] [SYS_CONFIG_FILE]" >&2
  echo "  file names are looked up in config_kafka/ and config_sys/; paths work too" >&2
  echo "  defaults: localhost.ini default.ini" >&2
}

# A config argument is used as given when it exists or contains a slash, else looked up in $2/.
resolve() {
  if [ -e "$1" ] || [[ "$1" == */* ]]; then echo "$1"; else echo "$2/$1"; fi
}

# ini_value KAFKA|SYS FILE SECTION KEY: the value of KEY in [SECTION] of the Kafka or the system
# FILE, trimmed. As in the programs, a variable PIZZA_<KAFKA|SYS>__<SECTION>__<KEY> wins
# (upper-case, each . and - written _; docs/configuration.md).
ini_value() {
  local variable
  variable="PIZZA_$1__$(printf '%s__%s' "$3" "$4" | tr 'a-z.-' 'A-Z__')"
  if [ -n "${!variable+set}" ]; then
    printf '%s\n' "${!variable}"
    return
  fi
  awk -v section="[$3]" -v key="$4" '
    /^\[/ { in_section = ($0 == section); next }
    in_section && $0 ~ "^" key "[ \t]*[=:]" { sub(/^[^=:]*[=:][ \t]*/, ""); sub(/[ \t\r]+$/, ""); print; exit }
  ' "$2"
}

listening() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

is_loopback() {
  case "$1" in 127.*|localhost|::1|\[::1\]) return 0 ;; *) return 1 ;; esac
}

wait_for_port() {
  local host=$1 port=$2 seconds=$3 tries
  for ((tries = 0; tries < seconds * 10; tries++)); do
    listening "$host" "$port" && return 0
    sleep 0.1
  done
  return 1
}

# start_broker HOST PORT STORAGE: STORAGE is memory (the default: quiet, forgotten when the broker
# stops) or sqlite (kept in data/broker/ across restarts, at several times the idle CPU).
start_broker() {
  local host=$1 port=$2 storage=${3:-memory} broker listen=$1 engine where
  install_broker
  broker=$(broker_binary)
  mkdir -p data/broker logs pid
  # The original's localhost.ini says localhost: listen on IPv4 loopback and advertise the name.
  [ "$host" = localhost ] && listen=127.0.0.1
  case "$storage" in
    sqlite) engine=sqlite://broker.db; where="topics kept in data/broker/ across restarts" ;;
    memory) engine=memory://nisshi/; where="topics in memory, forgotten when it stops" ;;
    *) echo "[local-broker] storage is memory or sqlite, not $storage" >&2; exit 1 ;;
  esac
  echo "Starting the local broker on $host:$port ($where)"
  # The broker drops the leading / of an absolute sqlite path, so it runs from its data folder.
  # A new consumer group's first rebalance waits for no more members (the broker's default is
  # Kafka's 3 s), so each service is at work a moment after it starts; tests/harness/broker.rs
  # starts its brokers the same way.
  # The topics' contracts: the broker refuses a value that breaks its topic's schema. It reads
  # its own copy, taken now (a file:// path loses its leading /, so it is relative to its folder).
  rm -rf data/broker/schemas
  mkdir -p data/broker/schemas
  cp schemas/*.json data/broker/schemas/
  (
    cd data/broker
    nohup "$broker" broker \
      --listener-url "tcp://$listen:$port" --advertised-listener-url "tcp://$host:$port" \
      --storage-engine "$engine" --group-initial-rebalance-delay 0s \
      --schema-registry file://schemas \
      </dev/null >>../../logs/broker.log 2>&1 &
    echo $! >../../pid/broker.pid
  )
  if ! wait_for_port "$listen" "$port" 30; then
    echo "The broker did not start; see logs/broker.log" >&2
    exit 1
  fi
}

# The PostgreSQL URL of a [state-store-*] section, when its store is on PostgreSQL.
postgres_url() {
  [ "$(ini_value SYS "$1" "$2" db_module_class)" = postgres ] && ini_value SYS "$1" "$2" name
}

# Runs a PostgreSQL command; as the postgres user when we are root (it refuses to run as root).
# Root has Debian's packages (see postgres_bin), so runuser (util-linux) is there.
as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# The newest of Debian's PostgreSQL packages (/usr/lib/postgresql/VERSION/bin).
debian_postgres_bin() {
  local newest
  newest=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -t/ -k5,5n | tail -n 1)
  # An unmatched glob stays as it is written.
  [ -d "$newest" ] && echo "$newest"
}

# The folder of PostgreSQL's programs: Debian's packages (installed here when we are root), else
# the ones on the PATH (Homebrew's, for one).
postgres_bin() {
  local bin
  bin=$(debian_postgres_bin) || true
  if [ -z "$bin" ] && command -v pg_ctl >/dev/null 2>&1; then
    bin=$(dirname "$(command -v pg_ctl)")
  fi
  if [ -z "$bin" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "Installing PostgreSQL (Debian package)..." >&2
      apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
      bin=$(debian_postgres_bin)
    else
      echo "The configuration names a local PostgreSQL, which is not installed" >&2
      echo "  Debian and Ubuntu: sudo apt-get install postgresql; macOS: brew install postgresql" >&2
      exit 1
    fi
  fi
  echo "$bin"
}

# start_postgres URL: a cluster of the demo's own in data/postgres/, listening on the URL's port on
# loopback only, with the URL's user, password and database.
start_postgres() {
  local url=$1 rest user password host port database bin folder
  rest=${url#*://}
  user=${rest%%:*}; rest=${rest#*:}
  password=${rest%%@*}; rest=${rest#*@}
  host=${rest%%:*}; rest=${rest#*:}
  port=${rest%%/*}; database=${rest#*/}
  bin=$(postgres_bin)
  folder=$PWD/data/postgres
  if [ ! -f "$folder/data/PG_VERSION" ]; then
    mkdir -p "$folder"
    [ "$(id -u)" = 0 ] && chown postgres "$folder"
    as_postgres "$bin/initdb" --auth=trust --username=postgres --encoding=UTF8 -D "$folder/data" >/dev/null
  fi
  echo "Starting PostgreSQL on $host:$port (data in data/postgres/)"
  mkdir -p logs pid
  as_postgres "$bin/pg_ctl" -D "$folder/data" -l "$folder/postgres.log" -w \
    -o "-p $port -c listen_addresses=$host -c unix_socket_directories=$folder" start >/dev/null
  head -n 1 "$folder/data/postmaster.pid" >pid/postgres.pid
  local psql=("$bin/psql" -h "$host" -p "$port" -U postgres -d postgres -tAq -v ON_ERROR_STOP=1)
  if [ "$("${psql[@]}" -c "SELECT 1 FROM pg_roles WHERE rolname = '$user'")" != 1 ]; then
    "${psql[@]}" -c "CREATE ROLE \"$user\" LOGIN PASSWORD '$password'"
  fi
  if [ "$("${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = '$database'")" != 1 ]; then
    "${psql[@]}" -c "CREATE DATABASE \"$database\" OWNER \"$user\""
  fi
}

# Starts the PostgreSQL the state stores name, when it is on this machine and not running.
ensure_postgres() {
  local sys_ini=$1 url host_port host port
  for section in state-store-orders state-store-delivery; do
    url=$(postgres_url "$sys_ini" "$section") || continue
    host_port=${url#*@}; host_port=${host_port%%/*}
    host=${host_port%:*}; port=${host_port##*:}
    if is_loopback "$host" && ! listening "$host" "$port"; then
      start_postgres "$url"
    fi
  done
}

# web_address BIND: where to point a browser at the web app that binds BIND. The loopback and
# every-interface binds are the original's localhost (the default 127.0.0.1:8000 is its
# localhost:8000).
web_address() {
  local host=${1%:*} port=${1##*:}
  case "$host" in 127.0.0.1 | localhost | 0.0.0.0 | "[::]") host=localhost ;; esac
  echo "$host:$port"
}

# The bytes a file holds, 0 when there is none (BSD's wc pads its count with blanks).
file_size() {
  if [ -f "$1" ]; then echo $(($(wc -c <"$1"))); else echo 0; fi
}

# metrics_url SERVICE OFFSET: where SERVICE says it serves its metrics, from the part of its log
# after byte OFFSET (what this start wrote). The log is read, not the configuration: an address
# another instance holds is replaced by one the system chooses.
metrics_url() {
  # Nothing found yet is not a failure (pipefail would make it one).
  { tail -c +"$(($2 + 1))" "logs/$1.log" 2>/dev/null | grep 'Metrics at ' | tail -n 1 | sed 's/.*Metrics at //'; } || true
}

# print_metrics OFFSET...: each service's metrics URL, in the order of $services; a service that
# serves none (its [metrics] key is off) is left out. Services write the line as they start,
# before they connect, so a moment is enough.
print_metrics() {
  local offsets=("$@") found tries i url
  found=()
  for ((tries = 0; tries < 10; tries++)); do
    found=()
    for ((i = 0; i < ${#services[@]}; i++)); do
      url=$(metrics_url "${services[$i]}" "${offsets[$i]}")
      [ -n "$url" ] && found+=("  ${services[$i]}: $url")
    done
    [ ${#found[@]} -eq ${#services[@]} ] && break
    sleep 0.1
  done
  [ ${#found[@]} -gt 0 ] || return 0
  echo "Metrics (Prometheus text format):"
  for url in "${found[@]}"; do
    echo "$url"
  done
}

health_check() {
  local host=$1 port=$2
  exec 3<>"/dev/tcp/$host/$port" || return 1
  printf 'GET /health-check HTTP/1.0\r\nHost: %s:%s\r\n\r\n' "$host" "$port" >&3
  local answer
  answer=$(head -n 1 <&3 || true)
  exec 3>&-
  [[ "$answer" == *" 200 "* ]]
}

main() {
  if [ "${1:-}" = "--install-broker" ]; then
    install_broker
    return 0
  fi
  if [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ] || [ $# -gt 2 ]; then
    usage
    exit 1
  fi
  local kafka_ini sys_ini
  kafka_ini=$(resolve "${1:-localhost.ini}" config_kafka)
  sys_ini=$(resolve "${2:-default.ini}" config_sys)
  # The original's messages.
  if [ ! -f "$kafka_ini" ]; then
    printf '\nError: Kafka configuration file not found: %s\n\n' "$kafka_ini" >&2
    usage
    exit 1
  fi
  if [ ! -f "$sys_ini" ]; then
    printf '\nError: System configuration file not found: %s\n\n' "$sys_ini" >&2
    usage
    exit 1
  fi

  echo "Building the services (release; about 5 minutes on two cores the first time, seconds after)..."
  cargo build --release --bins --quiet
  # Every shop topic has a contract that compiles (schemas/), or nothing starts.
  target/release/run_me_first --check-contracts schemas

  local bootstrap host port
  bootstrap=$(ini_value KAFKA "$kafka_ini" kafka bootstrap.servers)
  bootstrap=${bootstrap%%,*}
  host=${bootstrap%:*}
  port=${bootstrap##*:}
  if is_loopback "$host" && ! listening "$host" "$port"; then
    start_broker "$host" "$port" "$(ini_value KAFKA "$kafka_ini" local-broker storage)"
  fi

  mkdir -p logs pid data
  ensure_postgres "$sys_ini"
  echo "Creating the topics (existing ones are kept)"
  if ! target/release/run_me_first "$kafka_ini" "$sys_ini"; then
    echo "Could not create the topics; see the lines above and logs/run_me_first.log" >&2
    exit 1
  fi

  local started=() entry pid log_offsets=()
  services=()
  read -r -a services <<<"$(target/release/run_me_first --services)"
  for service in "${services[@]}"; do
    if pid=$(demo_pid "$service" "target/release/$service"); then
      echo "  $service is already running (pid $pid)"
      log_offsets+=(0)
      continue
    fi
    log_offsets+=("$(file_size "logs/$service.log")")
    nohup "target/release/$service" "$kafka_ini" "$sys_ini" </dev/null >/dev/null 2>"logs/$service.err" &
    echo $! >"pid/$service.pid"
    started+=("$service=$!")
    echo "  started $service (pid $!)"
  done

  local bind web_host web_port tries
  bind=$(ini_value SYS "$sys_ini" webapp bind)
  bind=${bind:-127.0.0.1:8000}
  web_host=${bind%:*}
  web_port=${bind##*:}
  for ((tries = 0; tries < 600; tries++)); do
    if health_check "$web_host" "$web_port" 2>/dev/null; then
      print_metrics "${log_offsets[@]}"
      echo "Logs are in logs/; stop everything with ./stop_demo.sh"
      # The original's last lines.
      echo
      echo "#######################################################"
      echo "Navigate to http://$(web_address "$bind") to order your pizza"
      echo "#######################################################"
      echo
      return 0
    fi
    # Asked whether each has exited rather than whether it runs: a child that has just been
    # forked shows this script's command line until nohup and the service have been exec'd,
    # which on a busy machine takes long enough to look like something else. An empty array is
    # unset to bash before 4.4 (macOS's 3.2), hence the + form.
    for entry in ${started[@]+"${started[@]}"}; do
      if exited "${entry#*=}"; then
        service=${entry%%=*}
        echo "$service stopped during start-up:" >&2
        # A panic goes to the .err file; the reason it gave up is the last line of its log.
        cat "logs/$service.err" >&2
        tail -n 1 "logs/$service.log" >&2 2>/dev/null || true
        echo "What did start is still running; ./stop_demo.sh stops it." >&2
        exit 1
      fi
    done
    sleep 0.1
  done
  echo "The web app did not answer on http://$bind within a minute; see logs/webapp.log" >&2
  exit 1
}

main "$@"
