# upload-emulator as a container: `docker build -t upload-emulator .`, then
# `docker run -p 8080:8080 upload-emulator` (docs/container.md).
ARG BASE=python:3.12-slim
FROM ${BASE}

# PIP_ARGS: extra pip arguments (a test passes `--no-index --find-links /src/.wheels`);
# PACKAGE: what to install (default: this context's source).
ARG PIP_ARGS=""
ARG PACKAGE=/src

ENV PYTHONUNBUFFERED=1 \
    UPLOAD_EMULATOR_HOST=0.0.0.0 \
    UPLOAD_EMULATOR_PORT=8080

COPY . /src
RUN python3 -m venv /opt/upload-emulator \
    && /opt/upload-emulator/bin/pip install --no-cache-dir $PIP_ARGS "$PACKAGE" \
    && /opt/upload-emulator/bin/python -m compileall -q /opt/upload-emulator \
    && rm -rf /src \
    && (getent passwd emulator >/dev/null || useradd --uid 10001 --create-home --home-dir /home/emulator emulator)

# Not root. The bind is 0.0.0.0 inside; the control plane still answers only loopback names,
# the bound address and UPLOAD_EMULATOR_ALLOWED_HOST (e.g. the compose service name).
USER emulator
WORKDIR /home/emulator
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["/opt/upload-emulator/bin/python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/_emulator/health' % os.environ.get('UPLOAD_EMULATOR_PORT', '8080'), timeout=2)"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/opt/upload-emulator/bin/upload-emulator"]
CMD ["serve"]
