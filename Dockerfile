# syntax=docker/dockerfile:1
# leadbridge, headless: `docker build -t leadbridge .`, then see README.md "Container".
# The install steps live in docker/install.sh, which tests/test_container.py also
# runs outside Docker; the test reads this file's RUN, ENV, ENTRYPOINT and
# HEALTHCHECK lines, so keep install steps in that script.

ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# Build stage: leadbridge's wheel and its dependencies' wheels, from the index.
FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src/ src/
COPY connectors/ connectors/
COPY mappings/ mappings/
COPY docker/install.sh docker/install.sh
RUN sh docker/install.sh wheels /src /wheels

# Final stage: a virtualenv with the wheels, installed offline; no compilers, no sources.
FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/leadbridge/bin:$PATH
WORKDIR /app
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    --mount=type=bind,source=docker/install.sh,target=/install.sh \
    sh /install.sh venv /wheels /opt/leadbridge \
    && sh /install.sh app /opt/leadbridge /app \
    && groupadd --system --gid 10001 leadbridge \
    && useradd --system --no-log-init --uid 10001 --gid leadbridge --home-dir /app leadbridge \
    && chown leadbridge:leadbridge /app/state

# Configuration by environment. Secrets (HUBSPOT_TOKEN, SALESFORCE_CLIENT_SECRET, ...)
# are never baked in: pass them with `docker run -e` or an env file.
ENV LEADBRIDGE_CONNECTORS=/app/connectors \
    LEADBRIDGE_MAPPINGS=/app/mappings \
    LEADBRIDGE_DATABASE_URL=sqlite:////app/state/leadbridge.db \
    LEADBRIDGE_HTTP_HOST=0.0.0.0 \
    LEADBRIDGE_HTTP_PORT=8080

# Numeric, so a runtime that checks runAsNonRoot can tell without /etc/passwd.
USER 10001:10001
VOLUME ["/app/connectors", "/app/mappings", "/app/state"]
EXPOSE 8080
# The port follows LEADBRIDGE_HTTP_PORT; urlopen raises (exit 1) on no answer or a non-2xx.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('LEADBRIDGE_HTTP_PORT', '8080'), timeout=3)"]
# The daemon finishes the batch in flight and exits 0 within 10 s: keep the default
# `docker stop` grace period (10 s) or longer.
STOPSIGNAL SIGTERM
ENTRYPOINT ["leadbridge", "run"]
