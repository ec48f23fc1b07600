# The verbs of Cita. `make run` and `make test` are the two a newcomer needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Local development values; production sets real ones in the environment.
export CITA_META_APP_SECRET ?= dev-app-secret
export CITA_META_VERIFY_TOKEN ?= dev-verify-token
# A development key for sealing access tokens; never use it with real tokens.
export CITA_SECRETS_KEY ?= dev:00000000000000000000000000000000000000000000000000000000000000de

# Runs a command with PostgreSQL, RabbitMQ and Redis answering at CITA_DATABASE_URL,
# CITA_AMQP_URL and CITA_REDIS_URL: those that already do, else private instances of this
# machine's servers (or Docker's), stopped again when the command ends.
WITH_SERVICES := deploy/local-services.sh with

.PHONY: help run demo test bench benches lint migrate seed set-token replay services openapi

help:
	@echo "make run      migrate, seed the demo barbershop, run the ingress (127.0.0.1:8080), scheduling, outbound, reminders"
	@echo "              and conversation (the AI with CITA_ANTHROPIC_API_KEY or ANTHROPIC_API_KEY set, guided mode without)"
	@echo "make demo     chat with the demo barbershop of a running make run [AS=staff|owner] [SCRIPT=file: exits 1 unless it books]"
	@echo "make test     the whole test suite, the dashboard's in headless Chromium"
	@echo "              (run and test bring up PostgreSQL, RabbitMQ and Redis where they don't answer, and stop them after;"
	@echo "              test installs Chromium and ChromeDriver with apt-get where it may)"
	@echo "make bench    ingress, scheduling, outbound, reminders and conversation figures against the real services"
	@echo "make lint     rustfmt and clippy, warnings are errors"
	@echo "make openapi  rewrite workers/api/openapi.json from the code"
	@echo "make migrate  apply pending migrations to CITA_DATABASE_URL"
	@echo "make set-token ORGANIZATION=<slug> [PHONE_NUMBER_ID=<id>] < token-file   store a WhatsApp access token"
	@echo "make replay QUEUE=<work queue> [LIMIT=<n>]   move dead-lettered messages back to work after a fix"
	@echo "make services bring up PostgreSQL, RabbitMQ and Redis and leave them running (deploy/local-services.sh stop)"

services:
	@deploy/local-services.sh start

# Every binary in the foreground, logs interleaved and prefixed; Ctrl-C stops them all.
run:
	cargo build --bins
	deploy/run.sh

# make has a built-in AS (the assembler, `as`), which once made a bare `make demo` run
# `cita-demo --as as`: only an AS from the command line or the environment picks the
# persona. RUN_PORT_OFFSET finds the fleet that `RUN_PORT_OFFSET=… make run` shifted.
ifeq ($(filter default undefined,$(origin AS)),)
demo_persona := --as $(AS)
endif
ifneq ($(RUN_PORT_OFFSET),)
demo_ports := --ingress http://127.0.0.1:$$((8080 + $(RUN_PORT_OFFSET)))/webhooks/whatsapp \
	--sandbox http://127.0.0.1:$$((9190 + $(RUN_PORT_OFFSET)))
endif

# A terminal chat with the demo barbershop of a running `make run`:
#   make demo [AS=staff|owner] [SCRIPT=workers/demo/scripts/booking.txt]
# The workspace's build, as `make run`'s (a build of cita-demo alone compiles the
# workspace's crates again with other features), from CARGO_TARGET_DIR where one is set.
demo:
	cargo build -q --bins
	$${CARGO_TARGET_DIR:-target}/debug/cita-demo $(demo_persona) $(if $(SCRIPT),--script $(SCRIPT)) $(demo_ports)

# The dashboard's tests drive a headless Chromium (installed by deploy/browser.sh).
test:
	deploy/browser.sh
	$(WITH_SERVICES) cargo test --workspace

bench:
	$(WITH_SERVICES) $(MAKE) --no-print-directory benches

benches:
	cargo bench -p cita-ingress --bench ingress_load
	cargo bench -p cita-scheduling --bench scheduling
	cargo bench -p cita-outbound --bench outbound
	cargo bench -p cita-reminders --bench reminders
	cargo bench -p cita-conversation --bench conversation
	cargo bench -p cita-api --bench api

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

migrate:
	$(WITH_SERVICES) cargo run --bin cita-migrate

seed:
	$(WITH_SERVICES) cargo run --bin cita-migrate -- --seed

# Reads the token from standard input, so it never shows in `ps` or the shell history.
set-token:
	@test -n "$(ORGANIZATION)" || { echo "usage: make set-token ORGANIZATION=<slug> [PHONE_NUMBER_ID=<id>] < token-file"; exit 2; }
	@$(WITH_SERVICES) cargo run -q --bin cita-outbound -- set-token $(ORGANIZATION) $(PHONE_NUMBER_ID)

replay:
	@test -n "$(QUEUE)" || { echo "usage: make replay QUEUE=<work queue> [LIMIT=<n>]"; exit 2; }
	@$(WITH_SERVICES) cargo run -q --bin cita-replay -- $(QUEUE) $(LIMIT)

# The API's OpenAPI document, from the code (a test keeps the committed file equal to it).
openapi:
	cargo run -q --bin cita-api -- --openapi > workers/api/openapi.json
