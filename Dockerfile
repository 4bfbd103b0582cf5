# Small image, non-root user, data in a volume, health checked through the built-in server.
# PYTHON_IMAGE: any Debian-based image with Python 3.11+ and its venv module (see README).
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
# A virtual environment copies into the final stage whole, whichever Python layout the base image has.
RUN python3 -m venv /opt/dealticker
WORKDIR /src
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY pyproject.toml README.md ./
# The dependencies in a layer of their own (installed with an empty package), so that a change to the code
# alone does not download them again.
RUN mkdir bot && touch bot/__init__.py && /opt/dealticker/bin/pip install . && rm -r bot
COPY bot ./bot
# pip and setuptools are not needed at run time (12 MB).
RUN /opt/dealticker/bin/pip install --no-deps --force-reinstall . \
    && /opt/dealticker/bin/pip uninstall --yes --quiet pip setuptools \
    && find /opt/dealticker -name __pycache__ -prune -exec rm -rf {} +

FROM ${PYTHON_IMAGE}
RUN useradd --create-home --uid 10001 dealticker \
    && mkdir -p /data /app && chown dealticker /data \
    # The default database, sqlite:///data/dealticker.db, is relative to /app: keep it in the volume.
    # No DATABASE_URL in the image, so that DATABASE_URL_FILE can be used without a conflict.
    && ln -s /data /app/data
COPY --from=build /opt/dealticker /opt/dealticker
COPY config /app/config
WORKDIR /app
USER dealticker
ENV PATH=/opt/dealticker/bin:$PATH \
    DEALTICKER_CONFIG=/app/config/dealticker.toml \
    DEALTICKER_SERVER_LISTEN=0.0.0.0 \
    PYTHONUNBUFFERED=1
VOLUME ["/data"]
# The health and metrics server ([server] port); /healthz answers 200 while the process and database are up.
EXPOSE 9108
# Slim images have no curl: ask with the image's own Python. Start-up runs the migrations first. No spaces in
# the arguments: podman's Docker-compatible API (docker-compose on podman) splits them there.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "__import__('urllib.request').request.urlopen('http://127.0.0.1:9108/healthz',timeout=4)"]
ENTRYPOINT ["dealticker"]
CMD ["run"]
