"""Prometheus text for /_emulator/metrics, written by `prometheus_client` from the emulator's own state.

Nothing is counted twice: requests come from the journal's counts, uploads and bytes from
the upload records, faults from the fault store, each read when the metrics are scraped.
prometheus_client is imported on the first scrape, not at start-up.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from upload_emulator.services.emulator import Emulator
from upload_emulator.services.records import UPLOADED


class _EmulatorCollector:
    """A prometheus_client collector (anything with `collect`) over one emulator's state."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        requests = CounterMetricFamily(
            "upload_emulator_requests",
            "Requests answered, by vendor, operation and status.",
            labels=["vendor", "operation", "status"],
        )
        for (vendor, operation, status), count in sorted(self.emu.journal.counts.items()):
            requests.add_metric([vendor, operation, str(status)], count)
        yield requests
        records = self.emu.uploads.all()
        by_state = Counter((r.vendor, r.state) for r in records)
        uploads = GaugeMetricFamily(
            "upload_emulator_uploads", "Upload records, by vendor and state.", labels=["vendor", "state"]
        )
        for (vendor, state), count in sorted(by_state.items()):
            uploads.add_metric([vendor, state], count)
        yield uploads
        stored = GaugeMetricFamily(
            "upload_emulator_stored_bytes", "Bytes of uploads that hold stored objects, by vendor.", labels=["vendor"]
        )
        totals: Counter[str] = Counter()
        for record in records:
            if record.state == UPLOADED:
                totals[record.vendor] += record.size or 0
        for vendor, total in sorted(totals.items()):
            stored.add_metric([vendor], total)
        yield stored
        faults = CounterMetricFamily(
            "upload_emulator_faults_fired",
            "Injected faults that fired, by vendor and fault id.",
            labels=["vendor", "fault"],
        )
        for rule in self.emu.faults.all():
            faults.add_metric([rule.vendor, rule.id], rule.fired)
        yield faults


def exposition(emu: Emulator) -> bytes:
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_EmulatorCollector(emu))
    return generate_latest(registry)
