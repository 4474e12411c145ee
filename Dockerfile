# Holdfast: a slim image that runs `holdfast run` as an unprivileged user.
# The database lives on a volume; secrets come from the environment, never the image.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOLDFAST_DATABASE_URL=sqlite+aiosqlite:////data/holdfast.db \
    HOLDFAST_SIGNAL_SPOOL=/data/holdfast-signal.spool

RUN useradd --system --create-home --uid 10001 holdfast \
 && mkdir /data && chown holdfast:holdfast /data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY migrations ./migrations
RUN pip install --no-cache-dir . && rm -rf /root/.cache

USER holdfast
VOLUME ["/data"]
CMD ["holdfast", "run"]
