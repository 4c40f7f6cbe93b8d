# One image for every role: `appealbot serve` (default) or `appealbot worker`.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    APPEALBOT_CONFIG=/app/config.toml
WORKDIR /app

# The quarterly report's PDF: WeasyPrint needs Pango, and a CJK font to print Chinese (Noto Sans CJK SC).
RUN apt-get update && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk \
    && rm -rf /var/lib/apt/lists/*

# Every package named in pyproject.toml's packages.find (tests/test_docker_image.py checks the list).
COPY pyproject.toml README.md config.toml ./
COPY bot bot
COPY enterprises enterprises
COPY intents intents
COPY policies policies
COPY routing routing
COPY storage storage
COPY tabular tabular
RUN pip install . && useradd --system --home /app appealbot && mkdir -p /app/var && chown appealbot /app/var

USER appealbot
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
ENTRYPOINT ["appealbot"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
