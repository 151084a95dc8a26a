# Production image for the Durapay API and worker (same image, different command).
FROM python:3.11-slim AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 UV_LINK_MODE=copy UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_COMPILE_BYTECODE=1
# Pango (and HarfBuzz's subsetter) lay out the invoice, receipt and statement PDFs (WeasyPrint);
# DejaVu is the font their stylesheet names: the slim image has no fonts at all.
RUN apt-get update && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
RUN pip install --no-cache-dir uv && useradd --create-home --uid 10001 durapay
WORKDIR /app

COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project

COPY settings.py worker.py money.py README.md ./
COPY contracts ./contracts
COPY services ./services
COPY api ./api
COPY activities ./activities
COPY workflows ./workflows
COPY db ./db
COPY templates ./templates
COPY documents ./documents
COPY cli ./cli
# Durapay itself, editable (the code stays in /app): installs the `durapay` command, e.g.
# `docker compose run --rm api durapay keys create --account acct_… --name ops --role admin`.
RUN uv sync --frozen --no-dev
# Bytecode now, while /app is writable (the service user cannot write it): every process then
# starts without compiling Durapay's modules first.
RUN python -m compileall -q settings.py worker.py money.py contracts services api cli activities workflows db documents

USER durapay
ENV PATH=/app/.venv/bin:$PATH DURAPAY_ENVIRONMENT=production DURAPAY_API_HOST=0.0.0.0 \
    DURAPAY_API_PORT=8000
EXPOSE 8000
CMD ["python", "-m", "api"]
