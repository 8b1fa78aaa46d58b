# The production image: web (gunicorn) and worker run from it; see docker-compose.yml.
FROM python:3.11-slim
# MALLOC_ARENA_MAX: glibc gives each thread of gunicorn's gthread workers a malloc arena of
# its own, which fragments and keeps memory; two arenas hold a web process near its floor
# (bench/load.py, docs/benchmarks.md: "Footprint").
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 ADVOCACY_INSTANCE_PATH=/var/lib/advocacy \
    MALLOC_ARENA_MAX=2
WORKDIR /app
# Exactly the versions in requirements.lock (`make lock`), each checked against its hash; then
# the package itself, built with the locked setuptools and adding no dependency of its own.
COPY requirements.lock ./
RUN pip install --no-cache-dir --require-hashes -r requirements.lock
COPY pyproject.toml README.md ./
COPY advocacy ./advocacy
RUN pip install --no-cache-dir --no-deps --no-build-isolation .
COPY targets ./targets
COPY templates ./templates
COPY campaigns ./campaigns
COPY worker.py ./
RUN useradd --system --home /var/lib/advocacy --create-home advocacy
USER advocacy
EXPOSE 8000
CMD ["gunicorn", "-c", "python:advocacy.gunicorn_conf", "--bind", "0.0.0.0:8000", "advocacy:create_app()"]
