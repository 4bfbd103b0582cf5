# Small image, non-root user, data in a volume.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 dealticker && mkdir /data && chown dealticker /data
COPY --from=build /install /usr/local
COPY config /app/config
WORKDIR /app
USER dealticker
ENV DATABASE_URL=sqlite:////data/dealticker.db \
    DEALTICKER_CONFIG=/app/config/dealticker.toml \
    PYTHONUNBUFFERED=1
VOLUME ["/data"]
ENTRYPOINT ["dealticker"]
CMD ["run"]
