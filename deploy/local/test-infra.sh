#!/usr/bin/env bash
# Runs a command with AMQP_URL and DATABASE_URL pointing at a real RabbitMQ and Postgres.
#  1. both already set in the environment: used as they are;
#  2. a Docker engine answers: left unset, the tests start containers (testcontainers);
#  3. otherwise this machine's own servers on the default ports, if they answer.
# If none of these, the tests themselves fail and say how to provide them.
set -euo pipefail
if [[ -z "${AMQP_URL:-}" || -z "${DATABASE_URL:-}" ]]; then
  if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
    echo "[infra] Docker answers: the tests start RabbitMQ and Postgres with testcontainers"
  elif (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null && (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
    export AMQP_URL="${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/}"
    export DATABASE_URL="${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"
    echo "[infra] using this machine's RabbitMQ and Postgres: AMQP_URL=$AMQP_URL DATABASE_URL=$DATABASE_URL"
  fi
fi
exec "$@"
