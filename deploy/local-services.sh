#!/usr/bin/env bash
# Local PostgreSQL, RabbitMQ and Redis on loopback, as the tests and `make run` expect them.
#   deploy/local-services.sh check   # exit 1 naming each service that does not answer
#   deploy/local-services.sh start   # start the ones that are installed but not running
set -uo pipefail

answers() { # host port
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

postgres_up() { answers 127.0.0.1 5432; }
rabbitmq_up() { answers 127.0.0.1 5672; }
redis_up() { answers 127.0.0.1 6379; }

start_postgres() {
  local version
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
  [ -n "$version" ] || { echo "PostgreSQL is not installed (apt-get install postgresql)"; return 1; }
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
}

start_rabbitmq() {
  command -v rabbitmq-server >/dev/null || { echo "RabbitMQ is not installed (apt-get install rabbitmq-server)"; return 1; }
  rabbitmq-server -detached
  # The node registers with epmd a moment after -detached returns, and its port opens
  # before it is ready to declare queues: wait for both.
  for _ in $(seq 1 120); do
    rabbitmqctl -q await_startup --timeout 120 >/dev/null 2>&1 && return 0
    sleep 1
  done
  echo "RabbitMQ did not finish starting" >&2
  return 1
}

start_redis() {
  command -v redis-server >/dev/null || { echo "Redis is not installed (apt-get install redis-server)"; return 1; }
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
}

wait_for() { # name probe
  for _ in $(seq 1 120); do "$2" && return 0; sleep 1; done
  echo "$1 did not come up on loopback" >&2
  return 1
}

case "${1:-check}" in
  check)
    missing=0
    postgres_up || { echo "PostgreSQL does not answer on 127.0.0.1:5432; start it: pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start"; missing=1; }
    rabbitmq_up || { echo "RabbitMQ does not answer on 127.0.0.1:5672; start it: rabbitmq-server -detached"; missing=1; }
    redis_up || { echo "Redis does not answer on 127.0.0.1:6379; start it: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no"; missing=1; }
    [ "$missing" = 0 ] && echo "PostgreSQL, RabbitMQ and Redis answer on loopback"
    exit "$missing"
    ;;
  start)
    postgres_up || { start_postgres && wait_for PostgreSQL postgres_up; } || exit 1
    rabbitmq_up || { start_rabbitmq && wait_for RabbitMQ rabbitmq_up; } || exit 1
    redis_up || { start_redis && wait_for Redis redis_up; } || exit 1
    echo "PostgreSQL, RabbitMQ and Redis are running"
    ;;
  *)
    echo "usage: $0 check|start" >&2
    exit 2
    ;;
esac
