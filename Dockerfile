# KOL Studio: one image for web (ASGI), worker and beat. See README.md, "Production-like stack".
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=config.settings \
    KOL_VAR_DIR=/app/var

WORKDIR /app

# Runtime dependencies only (requirements/base.txt is fully pinned).
COPY requirements/base.txt requirements/base.txt
RUN pip install -r requirements/base.txt

RUN groupadd --system kol && useradd --system --gid kol --home-dir /app --shell /usr/sbin/nologin kol

COPY --chown=kol:kol . .

# collectstatic needs settings that load; these build-time values are never used at run time.
RUN DEBUG=false SECRET_KEY=build-only-not-secret ALLOWED_HOSTS=build FIELD_ENCRYPTION_KEYS=$(python -c \
      "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())") \
      STATIC_ROOT=/app/staticfiles python manage.py collectstatic --no-input -v0 \
    && mkdir -p /app/var && chown -R kol:kol /app/var /app/staticfiles

USER kol
ENV STATIC_ROOT=/app/staticfiles
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health/', timeout=4).status == 200 else 1)"

CMD ["gunicorn", "config.asgi:application", "--worker-class", "uvicorn_worker.UvicornWorker", \
     "--bind", "0.0.0.0:8000", "--workers", "2", "--timeout", "120", "--access-logfile", "-"]
