# One image for every service; docker-compose.yml picks the service with its command.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY requirements.lock ./
RUN pip install --no-cache-dir uv==0.13.9 && uv pip install --system --no-cache -r requirements.lock
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY services ./services
COPY hardtech ./hardtech
COPY infra ./infra
RUN uv pip install --system --no-cache --no-deps .
RUN useradd --create-home --uid 10001 hardtech && mkdir -p /data && chown hardtech /data
USER hardtech
