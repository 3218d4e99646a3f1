from upload_emulator.journal import Journal


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
