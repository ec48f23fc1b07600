#!/usr/bin/env bash
# The whole fleet on this machine, logs interleaved and prefixed; Ctrl-C stops it all.
# What `make run` does after building. Binaries come from $CITA_BIN_DIR (default: the
# debug folder of $CARGO_TARGET_DIR, or target/).
#
# 1. PostgreSQL, RabbitMQ and Redis: this script runs under `deploy/local-services.sh
#    with`, which uses those that answer at CITA_DATABASE_URL, CITA_AMQP_URL and
#    CITA_REDIS_URL, brings up the others (private instances of this machine's servers,
#    or Docker's), and stops what it brought up once the fleet has stopped.
# 2. Migrates and seeds the demo barbershop.
# 3. Without CITA_GRAPH_API_BASE (real Meta), starts cita-sandbox on 127.0.0.1:9190 as
#    the Graph API and gives the barbershop a sandbox access token.
# 4. Starts the six binaries and waits for every /readyz.
#
# RUN_PORT_OFFSET (default 0) shifts every port (8080, 8081, 9101–9106, 9190), for a second
# fleet beside the first (the fleet test uses it).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "${CITA_SERVICES_UP:-}" ]; then
  exec "$here/local-services.sh" with "$here/run.sh" "$@"
fi
bin=${CITA_BIN_DIR:-${CARGO_TARGET_DIR:-$here/../target}/debug}
offset=${RUN_PORT_OFFSET:-0}
port() { echo $(($1 + offset)); }
# Local development values (as the Makefile's); production sets real ones.
export CITA_META_APP_SECRET=${CITA_META_APP_SECRET:-dev-app-secret}
export CITA_META_VERIFY_TOKEN=${CITA_META_VERIFY_TOKEN:-dev-verify-token}
export CITA_SECRETS_KEY=${CITA_SECRETS_KEY:-dev:00000000000000000000000000000000000000000000000000000000000000de}
export CITA_API_TOKEN_KEYS=${CITA_API_TOKEN_KEYS:-dev:00000000000000000000000000000000000000000000000000000000000000a1}

"$bin/cita-migrate" --seed || exit 1

sandbox=
if [ -z "${CITA_GRAPH_API_BASE:-}" ]; then
  sandbox=1
  export CITA_GRAPH_API_BASE=http://127.0.0.1:$(port 9190)
  printf 'sandbox-token' | "$bin/cita-outbound" set-token barberia-el-centro || exit 1
fi

pids=()
start() { # name command...
  local name=$1
  shift
  # The prefixer outlives a Ctrl-C, so the last lines of a stopping process show.
  "$@" > >(trap '' INT TERM; exec sed -u "s/^/[$name] /") 2>&1 &
  pids+=("$!")
}
stop() {
  trap - INT TERM
  kill -TERM "${pids[@]}" 2>/dev/null
  wait "${pids[@]}" 2>/dev/null
}
trap 'stop; exit 0' INT TERM

admin() { echo "CITA_ADMIN_ADDR=127.0.0.1:$(port "$1")"; }
[ -n "$sandbox" ] && start sandbox "$bin/cita-sandbox" --listen "127.0.0.1:$(port 9190)" \
  --ingress "http://127.0.0.1:$(port 8080)/webhooks/whatsapp"
start scheduling env "$(admin 9102)" "$bin/cita-scheduling"
start outbound env "$(admin 9104)" "$bin/cita-outbound"
start reminders env "$(admin 9105)" "$bin/cita-reminders"
start conversation env "$(admin 9103)" "$bin/cita-conversation"
start ingress env "$(admin 9101)" "CITA_LISTEN_ADDR=127.0.0.1:$(port 8080)" "$bin/cita-ingress"
start api env "$(admin 9106)" "CITA_LISTEN_ADDR=127.0.0.1:$(port 8081)" "$bin/cita-api"

ready() { curl -fs -o /dev/null "http://127.0.0.1:$1/readyz" 2>/dev/null; }
alive() { # every process still running
  local pid
  for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null || return 1; done
}
for _ in $(seq 1 120); do
  # A port taken by another fleet answers too: ours must also still be running.
  alive || break
  all=1
  for p in 9101 9102 9103 9104 9105 9106; do ready "$(port "$p")" || all=; done
  [ -n "$all" ] && break
  sleep 0.5
done
alive || all=
if [ -n "$all" ]; then
  echo "run: every /readyz is green; webhooks go to http://127.0.0.1:$(port 8080)/webhooks/whatsapp, the API is on http://127.0.0.1:$(port 8081)/v1 — chat with \`make demo\`"
  echo "run: the dashboard is http://localhost:$(port 8081)/ — enter with the seeded owner's number, 55 1111 0001"
  [ -n "$sandbox" ] && echo "run: his WhatsApp code shows at http://127.0.0.1:$(port 9190)/sandbox/messages?to=525511110001"
else
  echo "run: not every process came up (admin ports $(port 9101)–$(port 9106)); see the logs above"
fi

# One process stopping (a crash, a port taken) stops the rest.
wait -n "${pids[@]}"
echo "run: a process stopped; stopping the rest"
stop
exit 1
