"""`upload-emulator scenarios run`: a vendor's documented happy and unhappy paths, from a data
file (`scenarios/<vendor>.yaml`), against any base URL: the real vendor through `record`, or the
emulator itself.

A file names the headers that carry the credentials (`credentials`, with `{key}`), variables with
defaults (`vars`, each overridable with `--var NAME=VALUE`), and the scenarios: each a list of
steps, a `request` (method, path, a `json` or raw `text` body; `as: read_only` sends
`--key-read-only`, `as: anonymous` no credential) or a `put`
to a URL an earlier step saved, with the status it `expect`s and what to `save` of the answer.
A step that `wait`s (an expired URL) runs only with `--slow`: against the emulator it moves its
clock (`/_emulator/clock`), against anyone else it sleeps.
"""

from __future__ import annotations

import http.client
import json
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from upload_emulator.core.datafiles import load_yaml
from upload_emulator.vendors import scenario_file

_PLACE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)\}")


class ScenarioError(ValueError):
    """A scenario file or a variable that cannot be used; the message names it."""


@dataclass
class StepResult:
    scenario: str
    step: str
    method: str
    target: str
    expected: int
    status: int | None
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.status == self.expected

    def line(self) -> str:
        got = "no answer" if self.status is None else str(self.status)
        mark = "ok  " if self.ok else "FAIL"
        note = f" ({self.note})" if self.note else ""
        where = f"{self.scenario} / {self.step}: {self.method} {self.target}"
        return f"{mark} {where} -> {got}, expected {self.expected}{note}"


def _lookup(name: str, values: dict[str, Any]) -> Any:
    node: Any = values
    for part in name.split("."):
        if not isinstance(node, dict) or part not in node:
            raise ScenarioError(f"{{{name}}} names nothing an earlier step saved or a --var set")
        node = node[part]
    return node


def fill(template: Any, values: dict[str, Any]) -> Any:
    if isinstance(template, dict):
        return {k: fill(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [fill(v, values) for v in template]
    if isinstance(template, str):
        whole = _PLACE.fullmatch(template)
        if whole:
            return _lookup(whole.group(1), values)
        return _PLACE.sub(lambda m: str(_lookup(m.group(1), values)), template)
    return template


def _call(url: str, method: str, headers: dict[str, str], body: bytes | None) -> tuple[int | None, Any, str]:
    target = urlsplit(url)
    kind = http.client.HTTPSConnection if target.scheme == "https" else http.client.HTTPConnection
    connection = kind(target.hostname or "", target.port, timeout=60)
    path = (target.path or "/") + (f"?{target.query}" if target.query else "")
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        raw = response.read()
    except (OSError, http.client.HTTPException) as exc:
        return None, None, str(exc)
    finally:
        connection.close()
    try:
        return response.status, json.loads(raw) if raw else None, ""
    except ValueError:
        return response.status, raw.decode("utf-8", "replace"), ""


def load(vendor: str) -> dict[str, Any]:
    path = scenario_file(vendor)
    if not path.exists():
        raise ScenarioError(f"no scenarios for {vendor} ({path})")
    document = load_yaml(path)
    if not isinstance(document, dict) or not isinstance(document.get("scenarios"), list):
        raise ScenarioError(f"{path}: needs a list of `scenarios`")
    return document


def run(
    vendor: str, base_url: str, key: str, read_only: str | None, variables: dict[str, str], slow: bool
) -> list[StepResult]:
    document = load(vendor)
    base = base_url.rstrip("/")
    results: list[StepResult] = []
    for scenario in document["scenarios"]:
        values: dict[str, Any] = {**(document.get("vars") or {}), **variables, "key": key}
        values["key_read_only"] = read_only or ""
        if scenario.get("needs") == "read_only" and not read_only:
            continue
        if scenario.get("slow") and not slow:
            continue
        for step in scenario["steps"]:
            results.append(_step(document, scenario["name"], step, base, values))
            if not results[-1].ok:
                break
    return results


def _step(document: dict, scenario: str, step: dict, base: str, values: dict[str, Any]) -> StepResult:
    name = step.get("name", "")
    if "wait" in step:
        seconds = float(step["wait"])
        root = urlsplit(base)
        moved, _, _ = _call(
            f"{root.scheme}://{root.netloc}/_emulator/clock",
            "POST",
            {"Content-Type": "application/json"},
            json.dumps({"advanceSeconds": seconds}).encode(),
        )
        if moved != 200:
            time.sleep(seconds)
        return StepResult(scenario, name or f"wait {seconds:g} s", "WAIT", f"{seconds:g} s", 0, 0)
    if "put" in step:
        put = fill(step["put"], values)
        data = str(put.get("data", "")).encode()
        status, body, note = _call(put["url"], "PUT", {"Content-Type": put.get("content_type", "")}, data)
        return StepResult(scenario, name, "PUT", "(the presigned URL)", int(step["expect"]), status, note)
    request = fill(step["request"], values)
    credential = values["key_read_only"] if request.get("as") == "read_only" else values["key"]
    headers = {k: str(fill(v, {**values, "key": credential})) for k, v in (document.get("credentials") or {}).items()}
    if request.get("as") == "anonymous":
        headers = {}
    headers.update({k: str(v) for k, v in (document.get("headers") or {}).items()})
    for name, value in (request.get("headers") or {}).items():  # null: the header is not sent
        if value is None:
            headers = {k: v for k, v in headers.items() if k.lower() != name.lower()}
        else:
            headers[name] = str(value)
    body = None
    if "json" in request:
        body = json.dumps(request["json"]).encode()
        headers.setdefault("Content-Type", "application/json")
    elif "text" in request:  # raw bytes through the API (Adclear's chunks)
        body = str(request["text"]).encode()
    status, answer, note = _call(base + request["path"], request["method"], headers, body)
    for saved, where in (step.get("save") or {}).items():
        try:
            values[saved] = _lookup(where, {"body": answer})
        except ScenarioError:
            note = note or f"nothing at {where} to save as {saved}"
    return StepResult(scenario, name, request["method"], request["path"], int(step["expect"]), status, note)
