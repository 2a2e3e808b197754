# SOFP production image: gunicorn serves the web tier; the same image runs worker and beat.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=sofp.settings SOFP_VAR_DIR=/app/var

# Chromium prints the step-5 board pack (sofp/pdf.py, driven by Playwright); DejaVu and
# Liberation are the fonts its page asks for.
RUN apt-get update \
    && apt-get install -y --no-install-recommends chromium fonts-dejavu-core fonts-liberation \
    && rm -rf /var/lib/apt/lists/*
ENV SOFP_CHROMIUM_PATH=/usr/bin/chromium

WORKDIR /app
COPY pyproject.toml README.md ./
RUN pip install --upgrade pip && pip install .
COPY . .
# collectstatic needs a key to import settings (a throw-away random one: weak keys are
# refused with DEBUG=false); the real one comes from the environment.
RUN DEBUG=false ALLOWED_HOSTS=localhost \
    SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(64))')" \
    python manage.py collectstatic --noinput \
    && useradd --create-home --uid 1000 sofp && mkdir -p /app/var && chown -R sofp /app/var
USER sofp
EXPOSE 8000
CMD ["gunicorn", "sofp.wsgi:application", "--config", "gunicorn.conf.py"]
