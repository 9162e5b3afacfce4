#!/bin/sh
# The image's install steps, in one place: the Dockerfile RUNs them and
# tests/test_container.py runs the same lines outside Docker (no engine here), so
# the two cannot drift apart.
#
#   install.sh wheels SOURCE WHEELS  build stage: leadbridge's wheel and every
#                                    dependency's (PostgreSQL's driver included),
#                                    from the package index
#   install.sh venv WHEELS VENV      final stage: a fresh virtualenv with leadbridge,
#                                    offline, from WHEELS only
#   install.sh app VENV APP          final stage: APP/connectors and APP/mappings from
#                                    the defaults the package ships, APP/state empty
#
# PYTHON names the interpreter (default: python, the image's own).
set -eu

python=${PYTHON:-python}
# SQLite for one container; PostgreSQL (psycopg) for several replicas.
extras="[postgres]"
pip_quiet="--quiet --disable-pip-version-check --no-cache-dir"

usage() {
    echo "usage: install.sh wheels SOURCE WHEELS | venv WHEELS VENV | app VENV APP" >&2
    exit 2
}

[ $# -eq 3 ] || usage
step=$1
from=$2
to=$3

case $step in
wheels)
    # shellcheck disable=SC2086  # word splitting of the flag list is meant
    "$python" -m pip wheel $pip_quiet --wheel-dir "$to" "$from$extras"
    ;;
venv)
    "$python" -m venv "$to"
    # shellcheck disable=SC2086
    "$to/bin/python" -m pip install $pip_quiet --no-index --find-links "$from" "leadbridge$extras"
    "$to/bin/leadbridge" --help >/dev/null
    ;;
app)
    mkdir -p "$to/state"
    for name in connectors mappings; do
        shipped=$("$from/bin/python" -c "from leadbridge.config.defaults import shipped; print(shipped('$name'))")
        rm -rf "${to:?}/$name"
        cp -R "$shipped" "$to/$name"
    done
    ;;
*)
    usage
    ;;
esac
