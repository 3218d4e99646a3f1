"""Every fenced code block of the README and docs/, with the runner each one names.

A block is preceded by `<!-- run: KIND [ARG] -->`, which says which test runs it (see
tests/e2e/test_docs.py); a block without one fails that file's first test. A vendor's
walkthrough (`run: walkthrough NAME`) is found in the README and docs/ for the vendors this
package ships, and in `walkthrough.md` under the DATA_DIR of a vendor another package offers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from upload_emulator import vendors

ROOT = Path(__file__).resolve().parent.parent
KINDS = {
    "ci",
    "walkthrough",
    "live",
    "pytest",
    "conftest",
    "python",
    "python-live",
    "browser",
    "config",
    "plugin-entry-point",
    "house-check",
    "drift",
    "needs-docker",
}
_BLOCK = re.compile(r"(?:<!-- run: (?P<kind>[a-z-]+)(?: (?P<arg>\S+))? -->\n)?```(?P<lang>\w+)\n(?P<text>.*?)```", re.S)


@dataclass(frozen=True)
class Block:
    path: Path
    line: int
    lang: str
    kind: str | None
    arg: str | None
    text: str

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path}:{self.line}"


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def blocks_in(path: Path) -> list[Block]:
    text = path.read_text()
    return [
        Block(path, text.count("\n", 0, m.start()) + 1, m["lang"], m["kind"], m["arg"], m["text"])
        for m in _BLOCK.finditer(text)
    ]


def blocks() -> list[Block]:
    return [block for page in pages() for block in blocks_in(page)]


def of_kind(kind: str) -> list[Block]:
    return [block for block in blocks() if block.kind == kind]


def walkthrough(vendor: str) -> Block | None:
    """The vendor's walkthrough: in the docs, or beside the fixtures of a vendor another package offers."""
    own = getattr(vendors.module_for(vendor), "DATA_DIR", None)
    found = blocks_in(Path(own) / "walkthrough.md") if own and (Path(own) / "walkthrough.md").is_file() else blocks()
    matching = [b for b in found if b.kind == "walkthrough" and b.arg == vendor]
    return matching[0] if len(matching) == 1 else None
