#!/bin/sh
# Entrypoint of every service image (deploy/docker/Dockerfile).
#
#   serve (the default): create and migrate the service's database, then run the
#                        HTTP API, consumer and outbox relay in one uvicorn process.
#   anything else:       run it as given (e.g. the compose `keys` one-shot).
#
# SERVICE and PORT come from the image; DATABASE_URL and the rest from the environment.
# APP_ROOT is only for trying this script outside the image.
set -eu

if [ "${1:-serve}" != "serve" ]; then
    exec "$@"
fi

: "${SERVICE:?SERVICE is not set (gateway, leads, customers, sales, accounting, marketing)}"
: "${PORT:?PORT is not set}"
: "${DATABASE_URL:?DATABASE_URL is not set}"
APP_ROOT="${APP_ROOT:-/app}"

echo "entrypoint: migrating the ${SERVICE} database" >&2
python -m crm_kit.migrations "${APP_ROOT}/services/${SERVICE}"

echo "entrypoint: starting ${SERVICE} on port ${PORT}" >&2
# exec: uvicorn becomes PID 1 and gets SIGTERM itself, so in-flight messages finish.
# --no-proxy-headers: which proxies are believed is the service's FORWARDED_ALLOW_IPS.
exec uvicorn "${SERVICE}.app:app" --host 0.0.0.0 --port "${PORT}" --no-access-log --no-proxy-headers
