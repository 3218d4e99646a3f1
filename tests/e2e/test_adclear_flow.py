"""Adclear over real HTTP: chunked uploads, a chunk cut mid-body and resumed, boto3 read-back."""

from __future__ import annotations

import hashlib
import os
import socket
import time
from urllib.parse import urlsplit

import pytest
from support import ADCLEAR_GLOBEX, adclear_auth, multipart_etag

from upload_emulator.app import emulator_of

MIB = 1024 * 1024


def initiate(http, live, size: int, content_type: str = "video/mp4", **headers) -> dict:
    response = http.post(
        f"{live.url}/adclear/v1/uploads",
        json={"fileName": "spot.mp4", "fileSize": size, "contentType": content_type},
        headers={**adclear_auth(), **headers},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()


def put_chunk(http, live, started: dict, data: bytes, start: int, total: int):
    end = start + len(data) - 1
    return http.put(
        live.url + started["uploadUrl"],
        data=data,
        headers={**adclear_auth(), "Content-Range": f"bytes {start}-{end}/{total}", "Content-Type": "video/mp4"},
        timeout=60,
    )


def status(http, live, started: dict) -> dict:
    return http.get(live.url + started["uploadUrl"], headers=adclear_auth(), timeout=10).json()


def read_back(s3, live, upload_id: str) -> str:
    record = emulator_of(live.app).uploads.get(upload_id)
    digest = hashlib.sha256()
    for chunk in s3.get_object(Bucket=record.bucket, Key=record.key)["Body"].iter_chunks(MIB):
        digest.update(chunk)
    return digest.hexdigest()


def test_a_single_chunk_upload_reads_back_byte_identical(live, http, s3):
    data = os.urandom(3 * MIB + 5)
    started = initiate(http, live, len(data))
    answer = put_chunk(http, live, started, data, 0, len(data))
    assert answer.status_code == 200 and answer.json()["status"] == "completed"
    assert read_back(s3, live, started["uploadId"]) == hashlib.sha256(data).hexdigest()
    content = http.get(f"{live.url}/_emulator/uploads/{started['uploadId']}/content", timeout=30)
    assert content.content == data


@pytest.mark.slow
def test_a_200_mib_file_in_50_mib_chunks_reads_back_byte_identical(live, http, s3):
    size, chunk = 200 * MIB, 50 * MIB
    started = initiate(http, live, size)
    expected = hashlib.sha256()
    for start in range(0, size, chunk):
        data = os.urandom(chunk)
        expected.update(data)
        answer = put_chunk(http, live, started, data, start, size)
        assert answer.status_code == 200, answer.text
        assert answer.json()["bytesReceived"] == start + chunk
    assert answer.json()["status"] == "completed"
    assert read_back(s3, live, started["uploadId"]) == expected.hexdigest()


def cut_chunk(live, started: dict, data: bytes, start: int, total: int, send: int, wait: bool = True) -> None:
    """PUT a chunk over a bare socket, send only `send` of its bytes, then drop the connection:
    reading the server's answer first (`wait`), or closing and moving on at once."""
    target = urlsplit(live.url)
    head = (
        f"PUT {started['uploadUrl']} HTTP/1.1\r\nHost: {target.netloc}\r\n"
        f"Authorization: Bearer adc_key_test_acme_marketing\r\nx-external-user-id: user_abc123\r\n"
        f"Content-Range: bytes {start}-{start + len(data) - 1}/{total}\r\nContent-Length: {len(data)}\r\n\r\n"
    )
    with socket.create_connection((target.hostname, target.port), timeout=10) as sock:
        sock.sendall(head.encode() + data[:send])
        if not wait:
            return
        sock.shutdown(socket.SHUT_WR)
        try:
            while sock.recv(65536):
                pass
        except OSError:
            pass


def test_a_chunk_cut_mid_body_adds_nothing_and_the_client_resumes_to_a_byte_identical_file(live, http, s3):
    data = os.urandom(12 * MIB)
    started = initiate(http, live, len(data))
    assert put_chunk(http, live, started, data[: 4 * MIB], 0, len(data)).json()["bytesReceived"] == 4 * MIB
    cut_chunk(live, started, data[4 * MIB : 8 * MIB], 4 * MIB, len(data), send=MIB + 123)
    deadline = time.monotonic() + 5
    while status(http, live, started)["bytesReceived"] != 4 * MIB and time.monotonic() < deadline:
        time.sleep(0.05)
    held = status(http, live, started)
    assert (held["status"], held["bytesReceived"]) == ("uploading", 4 * MIB)
    offset = held["bytesReceived"]
    while offset < len(data):
        answer = put_chunk(http, live, started, data[offset : offset + 4 * MIB], offset, len(data)).json()
        offset = answer["bytesReceived"]
    assert answer["status"] == "completed"
    assert read_back(s3, live, started["uploadId"]) == hashlib.sha256(data).hexdigest()
    record = emulator_of(live.app).uploads.get(started["uploadId"])
    parts = [data[start : start + 4 * MIB] for start in range(0, len(data), 4 * MIB)]  # the cut one is no part
    assert s3.head_object(Bucket=record.bucket, Key=record.key)["ETag"] == f'"{multipart_etag(*parts)}"'
    cut = [e for e in emulator_of(live.app).journal.entries(vendor="adclear") if e["status"] == 400]
    assert cut and cut[0]["errorCode"] == "VALIDATION_ERROR"  # the cut chunk is journaled, as a client error


def test_another_workspace_cannot_read_write_or_delete_an_upload(live, http):
    started = initiate(http, live, 10)
    other = adclear_auth(ADCLEAR_GLOBEX)
    url = live.url + started["uploadUrl"]
    assert http.get(url, headers=other, timeout=10).status_code == 404
    assert (
        http.put(url, data=b"0123456789", headers={**other, "Content-Range": "bytes 0-9/10"}, timeout=10).status_code
        == 404
    )
    assert http.delete(url, headers=other, timeout=10).status_code == 404
    assert status(http, live, started)["bytesReceived"] == 0


def test_the_status_read_right_after_a_cut_is_a_safe_place_to_resume_for_every_upload(live, http):
    import concurrent.futures

    import requests

    uploads = 20

    def one(n: int) -> tuple[int, int]:
        with requests.Session() as session:
            data = os.urandom(2 * MIB)
            started = initiate(session, live, len(data))
            cut_chunk(live, started, data[:MIB], 0, len(data), send=MIB // 2 + n, wait=False)
            offset = status(session, live, started)["bytesReceived"]  # at once: no waiting, no retry
            answer = put_chunk(session, live, started, data[offset:], offset, len(data))
            return answer.status_code, len(data) if answer.status_code != 200 else answer.json()["bytesReceived"]

    with concurrent.futures.ThreadPoolExecutor(uploads) as pool:
        results = list(pool.map(one, range(uploads)))
    assert results == [(200, 2 * MIB)] * uploads
