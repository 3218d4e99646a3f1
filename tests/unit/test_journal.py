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
