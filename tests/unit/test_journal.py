from upload_emulator.services.journal import Journal


def test_the_journal_keeps_only_the_newest_entries_up_to_its_size():
    journal = Journal(size=3)
    for n in range(10):
        journal.record(requestId=f"req_{n}", status=200)
    assert [e["requestId"] for e in journal.entries()] == ["req_7", "req_8", "req_9"]


def test_entries_can_be_filtered_and_limited():
    journal = Journal()
    for n, status in enumerate((200, 401, 200, 401)):
        journal.record(requestId=f"req_{n}", status=status, vendor="scripe")
    assert [e["requestId"] for e in journal.entries(status=401)] == ["req_1", "req_3"]
    assert [e["requestId"] for e in journal.entries(limit=1, vendor="scripe")] == ["req_3"]


def test_an_entrys_details_are_worked_out_once_when_first_read_and_never_for_an_entry_not_read():
    journal = Journal()
    worked: list[int] = []

    def details(n: int):
        def later() -> dict:
            worked.append(n)
            return {"requestHeaders": {"Authorization": "Bearer scripe_s…full"}}

        return later

    for n in range(3):
        journal.record(details=details(n), requestId=f"req_{n}", status=200 if n else 401)
    assert worked == []  # recording costs the request nothing more
    (entry,) = journal.entries(status=401)
    assert entry["requestHeaders"] == {"Authorization": "Bearer scripe_s…full"}
    assert "_details" not in entry
    assert worked == [0]
    assert [e["requestId"] for e in journal.entries()] == ["req_0", "req_1", "req_2"]
    assert worked == [0, 1, 2]


def test_a_request_noted_by_requestlog_gets_the_entry_journal_record_would_make_fields_in_order(emu):
    import io
    import time

    from werkzeug.wrappers import Request

    from upload_emulator.api import journal_entry
    from upload_emulator.services.journal import FIELDS

    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/scripe/v1/uploads",
        "CONTENT_LENGTH": "28",
        "wsgi.input": io.BytesIO(b"x" * 28),
    }
    at = emu.clock.freeze()
    extras = {"keyId": "key_1", "key": "scripe_s…ccess", "workspace": "org_acme", "replayed": False, "fault": None}
    common = {"vendor": "scripe", "status": 201, "request_id": "req_1", "started": time.perf_counter()}
    journal_entry.note(
        emu,
        Request(environ),
        operation="createUpload",
        code="",
        details=lambda: {"requestBody": "later"},
        **common,
        **extras,
    )
    (noted,) = emu.journal.entries()
    reference = Journal()
    reference.record(
        details=lambda: {"requestBody": "later"},
        at=at,
        method="POST",
        path="/scripe/v1/uploads",
        requestBodyBytes=28,
        vendor="scripe",
        operationId="createUpload",
        status=201,
        errorCode=None,
        durationMs=noted["durationMs"],
        requestId="req_1",
        **extras,
    )
    (expected,) = reference.entries()
    assert list(noted) == list(expected) == [*FIELDS, "replayed", "fault", "requestBody"]
    assert noted == expected
