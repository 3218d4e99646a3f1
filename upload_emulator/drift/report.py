"""A verify run as JUnit XML (one test case per exchange) and as one self-contained HTML page."""

from __future__ import annotations

import html
import xml.etree.ElementTree as ET
from pathlib import Path

from upload_emulator.drift.verify import Outcome


def junit(outcomes: list[Outcome], vendor: str, path: Path) -> None:
    drifted = sum(o.drifted for o in outcomes)
    suite = ET.Element("testsuite", name=f"drift {vendor}", tests=str(len(outcomes)), failures=str(drifted))
    for o in outcomes:
        case = ET.SubElement(suite, "testcase", classname=f"drift.{vendor}", name=f"#{o.index} {o.method} {o.path}")
        if o.drifted:
            failure = ET.SubElement(case, "failure", message=f"{len(o.emulator_drift) + len(o.spec_drift)} drift(s)")
            failure.text = "\n".join(o.details())
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)


def page(outcomes: list[Outcome], vendor: str, path: Path) -> None:
    rows = []
    for o in outcomes:
        detail = "<br>".join(html.escape(line.strip()) for line in o.details()) or "no drift"
        rows.append(
            f'<tr class="{"drift" if o.drifted else "ok"}"><td>{o.index}</td><td>{html.escape(o.method)}</td>'
            f"<td>{html.escape(o.path)}</td><td>{o.status}</td><td>{o.emulated_status}</td><td>{detail}</td></tr>"
        )
    drifted = sum(o.drifted for o in outcomes)
    path.write_text(
        "<!doctype html><meta charset=utf-8><title>drift: " + html.escape(vendor) + "</title>"
        "<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}"
        ".drift{background:#fde8e8}.ok{background:#eefbea}</style>"
        f"<h1>{html.escape(vendor)}: {drifted} of {len(outcomes)} exchanges drifted</h1>"
        "<table><tr><th>#</th><th>method</th><th>path</th><th>vendor</th><th>emulator</th><th>drift</th></tr>"
        + "".join(rows)
        + "</table>"
    )
