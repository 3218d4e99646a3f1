"""The Dockerfile builds and its image serves every vendor, tested for real without a Docker engine.

A Debian base is made with debootstrap (cached as a local image between runs), the Dockerfile
is built on it with `buildah bud --isolation chroot`, installing the project from wheels built
here (pip inside the build cannot verify this network's TLS), and the image's own command runs
with `buildah run --isolation chroot` (the host's network: a free loopback port). From outside:
health, the Scripe flow read back with boto3, a foreign Host refused on the control plane; then
SIGTERM, as `docker stop` sends it to the container's first process: it exits 0 and leaves
nothing in the image's temp directory. Where buildah or debootstrap is missing (bin/setup test
installs both as root with apt), the test says so in one line.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import boto3
import psutil
import pytest
import requests
from botocore.config import Config
from support import free_port

from upload_emulator.core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
BASE = "localhost/upload-emulator-base:bookworm"
IMAGE = "localhost/upload-emulator:test"
MIRROR = os.environ.get("DEBIAN_MIRROR", "http://deb.debian.org/debian")


def tools_or_say_why() -> None:
    missing = [tool for tool in ("buildah", "debootstrap") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not installed here: `bin/setup test` installs them (root with apt)")
    if os.geteuid() != 0:
        pytest.skip("buildah's chroot isolation needs root here (run the suite as root, as CI does)")


def run(*command: str, timeout: float = 600, **kw) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, **kw)
    assert done.returncode == 0, f"{' '.join(command[:3])}: {done.stderr[-2000:]}"
    return done


def base_image(tmp_path: Path) -> str:
    """Debian bookworm with Python, from debootstrap, as a local image (made once, then reused)."""
    known = subprocess.run(["buildah", "inspect", "--type", "image", BASE], capture_output=True)
    if known.returncode == 0:
        return BASE
    rootfs = tmp_path / "rootfs"
    run(
        "debootstrap",
        "--variant=minbase",
        "--include=python3,python3-venv",
        "bookworm",
        str(rootfs),
        MIRROR,
        timeout=900,
    )
    container = run("buildah", "from", "scratch").stdout.strip()
    try:
        run("buildah", "copy", container, str(rootfs), "/")
        run("buildah", "commit", "-q", container, BASE)
    finally:
        subprocess.run(["buildah", "rm", container], capture_output=True)
    return BASE


def context(tmp_path: Path) -> Path:
    """The repository as `docker build .` sees it, plus the project's wheels and its dependencies'."""
    where = tmp_path / "context"
    files = run("git", "ls-files", "-z", cwd=ROOT).stdout.split("\0")
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():
            (where / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, where / name)
    for name in ("Dockerfile", ".dockerignore"):
        shutil.copy2(ROOT / name, where / name)
    run(sys.executable, "-m", "pip", "wheel", "-q", str(where), "-w", str(where / ".wheels"), timeout=600)
    return where


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    tools_or_say_why()
    tmp = tmp_path_factory.mktemp("image")
    base = base_image(tmp)
    ctx = context(tmp)
    run(
        "buildah", "bud", "--isolation", "chroot", "-q", "--format", "docker",
        "--build-arg", f"BASE={base}",
        "--build-arg", "PIP_ARGS=--no-index --find-links /src/.wheels",
        "--build-arg", "PACKAGE=upload-emulator",
        "-t", IMAGE, str(ctx),
    )  # fmt: skip
    return IMAGE


def server_on(port: int) -> psutil.Process:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for conn in psutil.net_connections("tcp"):
            if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN and conn.pid:
                return psutil.Process(conn.pid)
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port}")


def test_the_image_serves_the_scripe_flow_refuses_a_foreign_host_and_stops_clean_on_sigterm(image):
    container = run("buildah", "from", image).stdout.strip()
    port = free_port()
    inspect = run("buildah", "inspect", "--format", "{{.OCIv1.Config.User}} {{.Docker.Config.Healthcheck.Test}}", image)
    assert inspect.stdout.startswith("emulator ") and "/_emulator/health" in inspect.stdout  # not root; a HEALTHCHECK
    started = subprocess.Popen(
        ["buildah", "run", "--isolation", "chroot", "--env", f"UPLOAD_EMULATOR_PORT={port}", container, "--",
         "/opt/upload-emulator/bin/upload-emulator", "serve"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        served = server_on(port)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while requests.get(f"{url}/_emulator/health", timeout=5).status_code != 200:
            assert time.monotonic() < deadline
        auth = {"Authorization": "Bearer scripe_sk_test_acme_full_access"}
        minted = requests.post(f"{url}/scripe/v1/uploads", json={"contentType": "text/plain"}, headers=auth).json()
        data = os.urandom(200_000)
        put = requests.put(minted["data"]["uploadUrl"], data=data, headers={"Content-Type": "text/plain"})
        assert put.status_code == 200
        record = requests.get(f"{url}/_emulator/uploads/{minted['data']['id']}").json()
        settings = Settings()
        s3 = boto3.client(
            "s3",
            endpoint_url=f"{url}/s3",
            aws_access_key_id=settings.s3_access_key,
            aws_secret_access_key=settings.s3_secret_key,
            region_name=settings.s3_region,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )
        body = s3.get_object(Bucket=record["bucket"], Key=record["key"])["Body"].read()
        assert hashlib.sha256(body).hexdigest() == hashlib.sha256(data).hexdigest()
        redeemed = requests.post(
            f"{url}/scripe/v1/sources",
            json={"type": "file", "projectId": "p", "uploadId": minted["data"]["id"]},
            headers=auth,
        )
        assert redeemed.status_code == 202
        assert requests.get(f"{url}/_emulator/health", headers={"Host": "evil.example"}).status_code == 403
        assert served.username() != "root"
        served.terminate()  # SIGTERM to the image's own process, as `docker stop` does
        assert started.wait(30) == 0, started.stdout.read()[-2000:]
        mounted = Path(run("buildah", "mount", container).stdout.strip())
        try:
            left = [p.name for p in (mounted / "tmp").iterdir()]
        finally:
            run("buildah", "umount", container)
        assert left == []
    finally:
        if started.poll() is None:
            started.kill()
        subprocess.run(["buildah", "rm", container], capture_output=True)
