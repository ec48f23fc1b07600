#!/usr/bin/env bash
# PostgreSQL, RabbitMQ and Redis for `make run`, `make test` and CI, at the addresses of
# CITA_DATABASE_URL, CITA_AMQP_URL and CITA_REDIS_URL (the binaries' defaults: loopback
# ports 5432, 5672 and 6379).
#
#   deploy/local-services.sh check              exit 1 naming each one that does not answer
#   deploy/local-services.sh start [--private]  bring up each one that does not answer
#   deploy/local-services.sh with CMD [ARG…]    the same, run CMD, then stop what it brought up
#   deploy/local-services.sh status             what serves each address
#   deploy/local-services.sh stop               stop the private instances (and Docker's)
#   deploy/local-services.sh rabbitmqctl ARG…   rabbitmqctl against the private node if it
#                                               runs, else the machine's
#
# A service that answers is used as it is: a developer's own, CI's, Docker's. One that
# does not, at a loopback address, gets a private instance:
#
# - the server of this machine's package, started in a session of its own (Ctrl-C in the
#   terminal does not reach it; `stop`, or `with` when CMD ends, stops it cleanly), as an
#   ordinary user: as root, the account its package made (postgres, rabbitmq, redis), as
#   the system's instances do, because PostgreSQL refuses to run as root;
# - its data in $CITA_SERVICES_DIR (default: .services/ in the checkout, ignored by git),
#   one folder per server, kept between runs;
# - listening only on the URL's loopback port, and set up so that the URL works:
#   PostgreSQL is a cluster of its own (initdb, UTF-8) whose superuser is the URL's user
#   when it is made, with trust on loopback; RabbitMQ a node of its own (node name
#   cita-<port>@localhost, its own Erlang cookie, mnesia and log folders, configuration,
#   and no plugins) whose first boot creates the URL's user; Redis keeps nothing on disk
#   and asks for the URL's password, if it has one;
# - it never touches a system-wide instance: no shared data, port, socket, configuration
#   file or node name. epmd (4369) is shared by design: every Erlang node on a machine
#   registers with the one epmd, which the first node starts and which outlives it.
#
# Where a server is not installed: Docker's compose services when `docker compose` works
# (deploy/compose.services.yaml, on the URL's port, with the compose file's credentials in
# the URLs handed to CMD); else, where this user may install packages (root, or sudo
# without a password) with apt-get, the distribution's package; else one line naming the
# command to run. `start --private` never uses Docker nor installs (the test uses it).
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
state=${CITA_SERVICES_DIR:-$root/.services}
compose=(docker compose -f "$root/deploy/compose.yaml" -f "$root/deploy/compose.services.yaml")
SERVICES=(postgres rabbitmq redis)
# What this run brought up, for `with` and for a failed `start` to stop again:
# a service's name (a private instance) or docker:<name> (a compose service).
started=()

note() { echo "local-services: $*"; }
# One line per failure; the caller returns 1 after it.
complain() { echo "local-services: $*" >&2; }

# --- Addresses -------------------------------------------------------------------------

decode() { # percent-encoding, as in URLs' user, password and path
  local s=${1//\\/\\\\}
  printf '%b' "${s//%/\\x}"
}

# scheme://[user[:password]@]host[:port][/path][?query] into u_user, u_pass, u_host,
# u_port (empty when the URL has none) and u_path.
parse_url() {
  local rest=${1#*://} auth=
  rest=${rest%%\?*}
  u_path=
  if [[ $rest == */* ]]; then
    u_path=$(decode "${rest#*/}")
    rest=${rest%%/*}
  fi
  if [[ $rest == *@* ]]; then
    auth=${rest%@*}
    rest=${rest##*@}
  fi
  u_user=$(decode "${auth%%:*}")
  u_pass=
  [[ $auth == *:* ]] && u_pass=$(decode "${auth#*:}")
  if [[ $rest == \[*\]* ]]; then
    u_host=${rest%%]*}
    u_host=${u_host#[}
    rest=${rest#*]}
  else
    u_host=${rest%%:*}
    rest=${rest#"$u_host"}
  fi
  u_port=${rest#:}
}

# Everything about one service, in s_* and u_* variables, from its configured URL.
load() {
  svc=$1
  case $svc in
    postgres)
      s_title=PostgreSQL s_var=CITA_DATABASE_URL s_package=postgresql s_account=postgres
      # The binaries' defaults (shared/src/config/mod.rs; a test keeps them equal).
      s_default=postgres://postgres@127.0.0.1:5432/cita s_default_port=5432
      ;;
    rabbitmq)
      s_title=RabbitMQ s_var=CITA_AMQP_URL s_package=rabbitmq-server s_account=rabbitmq
      s_default='amqp://guest:guest@127.0.0.1:5672/%2f?heartbeat=30' s_default_port=5672
      ;;
    redis)
      s_title=Redis s_var=CITA_REDIS_URL s_package=redis-server s_account=redis
      s_default=redis://127.0.0.1:6379/0 s_default_port=6379
      ;;
  esac
  s_url=${!s_var:-$s_default}
  parse_url "$s_url"
  u_host=${u_host:-localhost}
  u_port=${u_port:-$s_default_port}
  s_dir=$state/$svc
  # A private instance listens on the URL's loopback address only.
  case $u_host in
    localhost) s_listen=127.0.0.1 ;;
    *) s_listen=$u_host ;;
  esac
  as_account=()
  if [ "$(id -u)" = 0 ]; then
    as_account=(setpriv "--reuid=$s_account" "--regid=$(id -g "$s_account" 2>/dev/null)" --init-groups)
  fi
}

answers() { # host port: something accepts connections there
  if is_loopback "$1" || ! command -v timeout >/dev/null; then
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
  else
    # A remote host that drops packets would otherwise hold the probe for minutes.
    timeout 5 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>/dev/null
  fi
}

is_loopback() {
  case $1 in
    localhost | 127.* | ::1) return 0 ;;
    *) return 1 ;;
  esac
}

# Polls `test…` until it succeeds; fails when the process `pid` (if not empty) exits or
# `seconds` pass. The caller names what it waited for.
wait_until() { # seconds pid test…
  local deadline=$((SECONDS + $1)) pid=$2
  shift 2
  until "$@"; do
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then return 1; fi
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

# Runs a server in a session of its own, so that Ctrl-C in the terminal (which signals
# the whole foreground process group) does not reach it: `stop` and `with` stop it
# cleanly instead. Its process id is written to $s_dir/pid.
launch() { # log command…
  local log=$1 detach=()
  shift
  command -v setsid >/dev/null && detach=(setsid)
  # The subshell is not a process group leader, so setsid does not fork and every exec
  # below keeps the process id that $! names.
  (cd "$s_dir" && exec "${detach[@]}" "${as_account[@]}" "$@") </dev/null >>"$log" 2>&1 &
  echo "$!" >"$s_dir/pid"
  started+=("$svc")
}

gone() { ! kill -0 "$1" 2>/dev/null; }

pid_alive() { # pid file
  local pid
  pid=$(head -n 1 "$1" 2>/dev/null) && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# Stops the process of a pid file with SIGTERM (a clean shutdown for RabbitMQ's and
# Redis's servers) and waits for it to exit.
terminate() { # pid-file
  local pid
  pid=$(head -n 1 "$1" 2>/dev/null) || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  if ! wait_until 60 "" gone "$pid"; then
    complain "$s_title (pid $pid) did not stop within 60 s of SIGTERM; killing it"
    kill -KILL "$pid" 2>/dev/null
  fi
  rm -f "$1"
}

# The service's folder, owned by the account that runs the server, closed to others.
prepare_dir() {
  mkdir -p "$s_dir" || {
    complain "cannot create $s_dir"
    return 1
  }
  if [ "$(id -u)" = 0 ]; then
    if ! id "$s_account" >/dev/null 2>&1; then
      complain "as root, $s_title runs as the account $s_account, which does not exist (the $s_package package makes it)"
      return 1
    fi
    chown -R "$s_account:$(id -g "$s_account")" "$s_dir" || return 1
    if ! "${as_account[@]}" test -w "$s_dir"; then
      complain "the account $s_account cannot reach $s_dir (a folder above it is closed to others); set CITA_SERVICES_DIR to a folder it can reach"
      return 1
    fi
  fi
  chmod 700 "$s_dir"
}

# A program on the PATH (bash's `command -v` also names a file that is not executable).
executable() {
  local path
  path=$(command -v "$1") && [ -x "$path" ]
}

# --- PostgreSQL ------------------------------------------------------------------------

# The folder of initdb and pg_ctl: the cluster's own major version where a cluster exists,
# else the PATH's, else the newest of Debian's /usr/lib/postgresql/<version>/bin.
postgres_bin() {
  local version= dir
  [ -f "$s_dir/data/PG_VERSION" ] && version=$(cat "$s_dir/data/PG_VERSION")
  if [ -n "$version" ] && [ -x "/usr/lib/postgresql/$version/bin/pg_ctl" ]; then
    echo "/usr/lib/postgresql/$version/bin"
    return 0
  fi
  if executable pg_ctl && executable initdb; then
    dirname "$(command -v pg_ctl)"
    return 0
  fi
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$dir" ] && [ -x "$dir/initdb" ] && echo "$dir"
}

postgres_running() { pid_alive "$s_dir/data/postmaster.pid"; }
# The fourth line of postmaster.pid is the port it listens on.
postgres_port() { sed -n 4p "$s_dir/data/postmaster.pid" 2>/dev/null; }

start_postgres() {
  local bin data=$s_dir/data locale=C role=${u_user:-postgres}
  bin=$(postgres_bin)
  prepare_dir || return 1
  if [ ! -f "$data/PG_VERSION" ]; then
    # UTF-8 text, and C.UTF-8 like Debian's clusters where the C library has it.
    locale -a 2>/dev/null | grep -qix 'c\.utf-\?8' && locale=C.UTF-8
    note "PostgreSQL: a new cluster in $data, superuser $role, trust on loopback"
    if ! "${as_account[@]}" "$bin/initdb" -D "$data" -U "$role" --auth=trust -E UTF8 \
      --locale="$locale" >"$s_dir/initdb.log" 2>&1; then
      complain "initdb failed; see $s_dir/initdb.log"
      return 1
    fi
  fi
  started+=(postgres)
  # -k '': no Unix socket, so nothing is written to the system's socket folder.
  if ! (cd "$s_dir" && "${as_account[@]}" "$bin/pg_ctl" -D "$data" -l "$s_dir/postgres.log" \
    -w -t 60 -o "-p $u_port -h $s_listen -k ''" start >/dev/null); then
    complain "PostgreSQL did not start on $s_listen:$u_port; see $s_dir/postgres.log"
    return 1
  fi
  note "PostgreSQL: private instance on $s_listen:$u_port ($s_dir)"
}

stop_postgres() {
  local bin
  bin=$(postgres_bin)
  (cd "$s_dir" && "${as_account[@]}" "$bin/pg_ctl" -D "$s_dir/data" -m fast -w -t 60 stop >/dev/null) ||
    complain "PostgreSQL in $s_dir did not stop; see $s_dir/postgres.log"
}

# --- RabbitMQ --------------------------------------------------------------------------

# The real scripts: Debian's /usr/sbin/rabbitmq-* switch to the rabbitmq account and the
# system node's settings.
rabbitmq_bin() {
  if [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ]; then
    echo /usr/lib/rabbitmq/bin
  elif executable rabbitmq-server; then
    dirname "$(command -v rabbitmq-server)"
  else
    return 1
  fi
}

rabbitmq_running() { pid_alive "$s_dir/pid"; }
rabbitmq_port() { sed -n 's/^listeners\.tcp\.default = .*:\([0-9]*\)$/\1/p' "$s_dir/rabbitmq.conf" 2>/dev/null; }

# The environment of the private node, for the server and for the CLI alike: every file
# and folder its own, none of the system's (/etc/rabbitmq, /var/lib/rabbitmq).
rabbitmq_env() { # node
  rabbitmq_env=(
    HOME="$s_dir" # its own Erlang cookie, $s_dir/.erlang.cookie
    RABBITMQ_NODENAME="$1"
    RABBITMQ_CONF_ENV_FILE="$s_dir/rabbitmq-env.conf"
    RABBITMQ_CONFIG_FILE="$s_dir/rabbitmq.conf"
    RABBITMQ_CONFIG_FILES="$s_dir/conf.d"
    RABBITMQ_ADVANCED_CONFIG_FILE="$s_dir/advanced.config"
    RABBITMQ_ENABLED_PLUGINS_FILE="$s_dir/enabled_plugins"
    RABBITMQ_MNESIA_BASE="$s_dir/mnesia"
    RABBITMQ_LOG_BASE="$s_dir/log"
    # Should this node start epmd, it listens on loopback only.
    ERL_EPMD_ADDRESS=127.0.0.1
  )
}

# The inter-node (distribution) port: RabbitMQ's default, AMQP port + 20000, where that
# is a port; else 20000 below. The next free one from there.
dist_port() {
  local port=$(($1 + 20000))
  [ "$port" -le 65535 ] || port=$(($1 - 20000))
  while answers 127.0.0.1 "$port"; do port=$((port + 1)); done
  echo "$port"
}

start_rabbitmq() {
  local bin node=cita-$u_port@localhost vhost=${u_path:-/} dist
  bin=$(rabbitmq_bin)
  dist=$(dist_port "$u_port")
  mkdir -p "$s_dir/mnesia" "$s_dir/log" "$s_dir/conf.d" || return 1
  echo "$node" >"$s_dir/node"
  cat >"$s_dir/rabbitmq.conf" <<EOF
# The private node of deploy/local-services.sh, written at every start.
listeners.tcp.default = $s_listen:$u_port
# Created on the node's first boot only: the user of $s_var (guest, by default, which
# RabbitMQ lets in from loopback only).
default_user = ${u_user:-guest}
default_pass = ${u_pass:-guest}
default_vhost = $vhost
EOF
  # No plugins: the system node's management plugin owns port 15672.
  echo '[].' >"$s_dir/enabled_plugins"
  : >"$s_dir/rabbitmq-env.conf"
  if [ ! -f "$s_dir/.erlang.cookie" ]; then
    (umask 077 && LC_ALL=C tr -dc A-Z </dev/urandom | head -c 20 >"$s_dir/.erlang.cookie")
    chmod 400 "$s_dir/.erlang.cookie"
  fi
  prepare_dir || return 1
  rabbitmq_env "$node"
  launch "$s_dir/log/console.log" env "${rabbitmq_env[@]}" RABBITMQ_DIST_PORT="$dist" \
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
    "$bin/rabbitmq-server"
  # The AMQP port opens before the node has finished booting: then wait for that too.
  if ! wait_until 120 "$(cat "$s_dir/pid")" answers "$s_listen" "$u_port" ||
    ! rabbitmq_ctl await_startup --timeout 120 >/dev/null; then
    complain "RabbitMQ did not start on $s_listen:$u_port; see $s_dir/log"
    return 1
  fi
  note "RabbitMQ: private node $node on $s_listen:$u_port ($s_dir)"
}

rabbitmq_ctl() { # rabbitmqctl arguments, against the private node
  local node
  node=$(cat "$s_dir/node")
  rabbitmq_env "$node"
  (cd "$s_dir" && "${as_account[@]}" env "${rabbitmq_env[@]}" "$(rabbitmq_bin)/rabbitmqctl" -n "$node" "$@")
}

# SIGTERM to the server script stops the node cleanly (it runs `rabbitmqctl stop`'s
# equivalent), without starting a CLI node.
stop_rabbitmq() { terminate "$s_dir/pid"; }

# --- Redis -----------------------------------------------------------------------------

redis_bin() { executable redis-server && dirname "$(command -v redis-server)"; }
redis_running() { pid_alive "$s_dir/pid"; }
redis_port() { cat "$s_dir/port" 2>/dev/null; }

start_redis() {
  local bin args
  bin=$(redis_bin)
  prepare_dir || return 1
  echo "$u_port" >"$s_dir/port"
  # No configuration file (not the system's /etc/redis), nothing kept on disk.
  args=(--bind "$s_listen" --port "$u_port" --dir "$s_dir" --save "" --appendonly no
    --daemonize no --logfile "$s_dir/redis.log")
  [ -n "$u_pass" ] && args+=(--requirepass "$u_pass")
  launch /dev/null "$bin/redis-server" "${args[@]}"
  if ! wait_until 30 "$(cat "$s_dir/pid")" answers "$s_listen" "$u_port"; then
    complain "Redis did not start on $s_listen:$u_port; see $s_dir/redis.log"
    return 1
  fi
  note "Redis: private instance on $s_listen:$u_port ($s_dir)"
}

stop_redis() { terminate "$s_dir/pid"; }

titles() { # services… → "PostgreSQL, RabbitMQ and Redis"
  local svc n=0 out=
  for svc; do
    load "$svc"
    n=$((n + 1))
    if [ "$n" = 1 ]; then
      out=$s_title
    elif [ "$n" = $# ]; then
      out="$out and $s_title"
    else
      out="$out, $s_title"
    fi
  done
  echo "$out"
}

# --- Docker ----------------------------------------------------------------------------

compose_works() {
  command -v docker >/dev/null && docker compose version >/dev/null 2>&1 && docker info >/dev/null 2>&1
}

# Whether the compose service publishes the URL's port: then it is Docker's.
compose_serves() {
  local published
  compose_works || return 1
  published=$("${compose[@]}" port "$svc" "$s_default_port" 2>/dev/null) || return 1
  [ "${published##*:}" = "$u_port" ]
}

# The compose services' credentials (deploy/compose.yaml), at the configured address.
compose_url() {
  case $svc in
    postgres) export CITA_DATABASE_URL="postgres://postgres:postgres@$u_host:$u_port/${u_path:-cita}" ;;
    rabbitmq) export CITA_AMQP_URL="amqp://cita:cita@$u_host:$u_port/%2f?heartbeat=30" ;;
    redis) export CITA_REDIS_URL="redis://$u_host:$u_port/0" ;;
  esac
}

compose_up() { # services…
  local ports=()
  for svc in "$@"; do
    load "$svc"
    ports+=("$(echo "$svc" | tr a-z A-Z)_PORT=$u_port")
  done
  note "starting $(titles "$@") with Docker (deploy/compose.yaml, deploy/compose.services.yaml)"
  for svc in "$@"; do started+=("docker:$svc"); done
  env "${ports[@]}" "${compose[@]}" up -d --wait "$@" || {
    complain "docker compose could not start $(titles "$@")"
    return 1
  }
  for svc in "$@"; do
    load "$svc"
    wait_until 60 "" answers "$u_host" "$u_port" || {
      complain "Docker's $s_title does not answer at $u_host:$u_port"
      return 1
    }
    compose_url
  done
}

# --- Installing ------------------------------------------------------------------------

sudo_prefix() { # empty for root, `sudo -n` where sudo needs no password; fails otherwise
  if [ "$(id -u)" = 0 ]; then
    echo
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    echo "sudo -n"
  else
    return 1
  fi
}

packages_of() { # services… → the distribution's packages
  local svc
  for svc; do
    case $(package_manager) in
      apt-get) load "$svc" && echo "$s_package" ;;
      dnf) case $svc in postgres) echo postgresql-server ;; rabbitmq) echo rabbitmq-server ;; redis) echo redis ;; esac ;;
      brew) case $svc in postgres) echo postgresql@17 ;; rabbitmq) echo rabbitmq ;; redis) echo redis ;; esac ;;
    esac
  done
}

package_manager() {
  local manager
  for manager in apt-get dnf brew; do
    command -v "$manager" >/dev/null && echo "$manager" && return 0
  done
}

# Installs Debian's or Ubuntu's packages. Their scripts may start the system-wide
# services; those on the configured ports are then simply used.
install_packages() { # services…
  local sudo clusters_before version
  sudo=$(sudo_prefix) || return 1
  clusters_before=$(ls /etc/postgresql 2>/dev/null)
  note "installing $(packages_of "$@" | xargs) with apt-get"
  # shellcheck disable=SC2086 # $sudo is empty or two words
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(packages_of "$@") || {
    complain "apt-get could not install $(packages_of "$@" | xargs) (see above)"
    return 1
  }
  # Installing postgresql makes and starts a cluster on 5432 that wants a password over
  # TCP, which the default URL has not: this script's install made it, empty, so it
  # removes it again and a private cluster (trust on loopback) serves the port instead.
  if [ -z "$clusters_before" ] && command -v pg_dropcluster >/dev/null; then
    for version in $(ls /etc/postgresql 2>/dev/null); do
      $sudo pg_dropcluster --stop "$version" main &&
        note "removed the empty cluster $version/main that installing postgresql made"
    done
  fi
}

install_command() { # services… → one command a person can run
  local packages
  packages=$(packages_of "$@" | xargs)
  local sudo=sudo
  [ "$(id -u)" = 0 ] && sudo=
  case $(package_manager) in
    apt-get) echo "${sudo:+$sudo }apt-get install -y $packages" ;;
    dnf) echo "${sudo:+$sudo }dnf install -y $packages" ;;
    brew) echo "brew install $packages" ;;
    *) echo "install the servers of $* with your system's packages" ;;
  esac
}

# --- Subcommands -----------------------------------------------------------------------

installed() { "${svc}_bin" >/dev/null; }
private_running() { "${svc}_running"; }

# Where each address is served from (for start and status), exporting the compose URLs
# of Docker's services. Fails when it does not answer.
describe() {
  if ! answers "$u_host" "$u_port"; then
    return 1
  elif private_running; then
    note "$s_title: private instance on $u_host:$u_port ($s_dir)"
  elif compose_serves; then
    compose_url
    note "$s_title: Docker's, on $u_host:$u_port (${!s_var})"
  else
    note "$s_title answers at $u_host:$u_port"
  fi
}

start_services() { # [--private]
  local private_only=${1:-} missing=() titles
  for svc in "${SERVICES[@]}"; do
    load "$svc"
    describe && continue
    if ! is_loopback "$u_host"; then
      complain "$s_title does not answer at $u_host:$u_port ($s_var), which is not this machine: start it there, or point $s_var at a loopback port"
      return 1
    fi
    if private_running; then
      complain "the private $s_title in $s_dir runs on port $("${svc}_port"), not $u_port: stop it first (deploy/local-services.sh stop)"
      return 1
    fi
    installed || missing+=("$svc")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    titles=$(titles "${missing[@]}")
    if [ -z "$private_only" ] && compose_works; then
      compose_up "${missing[@]}" || return 1
    elif [ -z "$private_only" ] && [ "$(package_manager)" = apt-get ] && sudo_prefix >/dev/null; then
      install_packages "${missing[@]}" || return 1
    else
      [ ${#missing[@]} = 1 ] && is=is || is=are
      complain "$titles $is not installed; install: $(install_command "${missing[@]}")$([ -z "$private_only" ] && echo ', or run a Docker engine with its compose plugin')"
      return 1
    fi
  fi
  for svc in "${SERVICES[@]}"; do
    load "$svc"
    answers "$u_host" "$u_port" && continue
    installed || {
      complain "$s_title is still not installed"
      return 1
    }
    "start_$svc" || return 1
  done
}

# Stops what this run brought up, the last first.
stop_started() {
  local i entry
  for ((i = ${#started[@]} - 1; i >= 0; i--)); do
    entry=${started[i]}
    if [[ $entry == docker:* ]]; then
      "${compose[@]}" stop "${entry#docker:}" >/dev/null 2>&1 && note "$(titles "${entry#docker:}"): stopped Docker's"
    else
      load "$entry"
      if private_running; then
        "stop_$entry" && note "$s_title: stopped the private instance"
      fi
    fi
  done
  started=()
}

case "${1:-check}" in
  check)
    missing=0
    for svc in "${SERVICES[@]}"; do
      load "$svc"
      answers "$u_host" "$u_port" && continue
      echo "$s_title does not answer at $u_host:$u_port ($s_var)"
      missing=1
    done
    if [ "$missing" = 0 ]; then
      echo "PostgreSQL, RabbitMQ and Redis answer"
    else
      echo "start them: deploy/local-services.sh start (make run and make test do it themselves)"
    fi
    exit "$missing"
    ;;
  start)
    case ${2:-} in
      '' | --private) ;;
      *)
        echo "usage: $0 start [--private]" >&2
        exit 2
        ;;
    esac
    trap 'stop_started; exit 130' INT TERM
    start_services "${2:-}" || {
      stop_started
      exit 1
    }
    ;;
  with)
    shift
    [ $# -gt 0 ] || {
      echo "usage: $0 with COMMAND [ARG…]" >&2
      exit 2
    }
    trap 'stop_started; exit 130' INT TERM
    start_services || {
      stop_started
      exit 1
    }
    # Ctrl-C reaches COMMAND too (one process group); this waits for it to end, then
    # stops what it brought up.
    trap ':' INT TERM
    export CITA_SERVICES_UP=1
    "$@"
    status=$?
    stop_started
    exit "$status"
    ;;
  status)
    for svc in "${SERVICES[@]}"; do
      load "$svc"
      describe || echo "local-services: $s_title does not answer at $u_host:$u_port ($s_var)"
    done
    ;;
  stop)
    for svc in "${SERVICES[@]}"; do
      load "$svc"
      if private_running; then
        "stop_$svc" && note "$s_title: stopped the private instance in $s_dir"
      fi
    done
    if compose_works; then
      running=$("${compose[@]}" ps --services --status running 2>/dev/null | grep -x 'postgres\|rabbitmq\|redis')
      for svc in $running; do
        "${compose[@]}" stop "$svc" >/dev/null 2>&1 && note "$(titles "$svc"): stopped Docker's"
      done
    fi
    ;;
  rabbitmqctl)
    shift
    load rabbitmq
    if rabbitmq_running; then
      rabbitmq_ctl "$@"
    else
      rabbitmqctl "$@"
    fi
    ;;
  *)
    echo "usage: $0 check|start [--private]|with COMMAND…|status|stop|rabbitmqctl ARG…" >&2
    exit 2
    ;;
esac
