"""The house keeps its rules: no import cycle, nothing imported upward or lazily, no module past ~400 lines.

`tools/house_check.py` reads every import with `ast` (module level, in functions, under
TYPE_CHECKING); these tests run it on the real tree, and on small trees built to break each
rule, so a breach anyone adds fails here.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
from docs_blocks import ROOT, of_kind

MAX_LINES = 400


def house():
    spec = importlib.util.spec_from_file_location("house_check", ROOT / "tools" / "house_check.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


def test_the_package_has_no_cycle_no_upward_import_and_no_lazy_import_outside_the_faces():
    assert house().breaches(ROOT) == []


def test_the_check_is_the_command_the_docs_give_and_it_passes():
    [block] = of_kind("house-check")
    assert block.text.split() == ["python", "tools/house_check.py"]
    done = subprocess.run([sys.executable, *block.text.split()[1:]], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout
    assert "no cycle, nothing upward, nothing lazy outside the faces" in done.stdout


def tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / "upload_emulator" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for folder in {p.parent for p in (tmp_path / "upload_emulator").rglob("*.py")}:
        (folder / "__init__.py").touch()
    return tmp_path


@pytest.mark.parametrize(
    ("files", "breach"),
    [
        ({"core/a.py": "from upload_emulator.services import b\n", "services/b.py": ""}, "imports upward"),
        (
            {
                "services/a.py": "from upload_emulator.services import b\n",
                "services/b.py": "import upload_emulator.services.a\n",
            },
            "import cycle",
        ),
        (
            {"services/a.py": "def f():\n    from upload_emulator.core import b\n", "core/b.py": ""},
            "function-level or TYPE_CHECKING import",
        ),
        (
            {
                "services/a.py": (
                    "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from upload_emulator.core import b\n"
                ),
                "core/b.py": "",
            },
            "function-level or TYPE_CHECKING import",
        ),
        ({"s3/a.py": "from upload_emulator.vendors import b\n", "vendors/b.py": ""}, "beside it on its floor"),
        ({"serving/a.py": "from upload_emulator.api import b\n", "api/b.py": ""}, "serving/ may import only core/"),
        ({"attic/a.py": "from upload_emulator.core import b\n", "core/b.py": ""}, "not on a floor"),
    ],
    ids=[
        "upward",
        "cycle",
        "in a function",
        "under TYPE_CHECKING",
        "sideways",
        "server into the app",
        "unknown folder",
    ],
)
def test_each_kind_of_breach_added_to_a_tree_is_reported(tmp_path, files, breach):
    found = house().breaches(tree(tmp_path, files))
    assert any(breach in line for line in found), found


def test_no_module_of_the_package_is_past_400_lines():
    big = {
        str(path.relative_to(ROOT)): n
        for path in (ROOT / "upload_emulator").rglob("*.py")
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert big == {}, f"split these by what they hold: {big}"
