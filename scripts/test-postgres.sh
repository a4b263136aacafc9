#!/bin/sh
# Start Debian's PostgreSQL for the test suite and print the URL of an empty test database.
# Installs the package when missing (sudo when not root). Used by `make test`.
set -eu
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if ! command -v pg_lsclusters >/dev/null 2>&1; then
  echo "Installing Debian package: postgresql" >&2
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >&2
fi
version=$(pg_lsclusters -h | awk 'NR==1 {print $1}')
if [ -z "$version" ]; then
  version=$(ls /usr/lib/postgresql | sort -n | tail -1)
  $SUDO pg_createcluster "$version" main >&2
fi
pg_lsclusters -h | awk 'NR==1 {print $4}' | grep -q online || $SUDO pg_ctlcluster "$version" main start >&2
user=$(id -un)
as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi; }
as_postgres psql -qtAc "SELECT 1 FROM pg_roles WHERE rolname='$user'" | grep -q 1 \
  || as_postgres psql -qc "CREATE ROLE \"$user\" SUPERUSER LOGIN" >&2
as_postgres psql -qtAc "SELECT 1 FROM pg_database WHERE datname='saraban_test'" | grep -q 1 \
  || as_postgres psql -qc "CREATE DATABASE saraban_test OWNER \"$user\"" >&2
port=$(pg_lsclusters -h | awk 'NR==1 {print $3}')
echo "postgresql+psycopg2://$user@/saraban_test?host=/var/run/postgresql&port=$port"
