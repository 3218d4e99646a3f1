"""The house's rules, checked from the code's own imports: `python tools/house_check.py`.

Every import of an `upload_emulator` module is listed with the standard library's `ast`:
at module level, inside functions, and under `if TYPE_CHECKING:`. Then:

1. no import cycle between modules;
2. no import from a folder to one above it in LAYERS (top first; folders on one floor
   import none of each other, but the faces may use each other; `serving/` stands apart
   and imports only `core/`);
3. no function-level or TYPE_CHECKING import of a package module outside the faces.

It prints one line per breach and exits 1, or prints the floors and exits 0.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "upload_emulator"
FACES = ("upload_emulator", "cli", "testing", "pytest_plugin")  # the package's faces, at the top
LAYERS: tuple[tuple[str, ...], ...] = (
    FACES,
    ("drift",),
    ("app",),
    ("control", "s3", "vendors"),
    ("api",),
    ("services",),
    ("blobs", "openapi"),
    ("core",),
)
APART = {"serving": ("core",)}  # beside the floors: what it may import


@dataclass(frozen=True)
class Import:
    source: str  # the importing module, dotted
    target: str  # the imported module, dotted
    line: int
    nested: bool  # inside a function or under TYPE_CHECKING


def modules(root: Path) -> dict[str, Path]:
    """Every module of the package under `root`, by dotted name."""
    found = {}
    for path in sorted((root / PACKAGE).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _targets(node: ast.AST, known: dict[str, Path]) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == PACKAGE]
    if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == PACKAGE and not node.level:
        names = [f"{node.module}.{a.name}" for a in node.names]
        return [n if n in known else node.module for n in names]
    return []


def imports(root: Path) -> list[Import]:
    known = modules(root)
    found = []
    for name, path in known.items():
        tree = ast.parse(path.read_text(), str(path))
        for node, nested in _walk(tree, False):
            for target in _targets(node, known):
                while target not in known and "." in target:
                    target = target.rsplit(".", 1)[0]
                if target != name:
                    found.append(Import(name, target, node.lineno, nested))
    return found


def _walk(node: ast.AST, nested: bool):
    for child in ast.iter_child_nodes(node):
        inner = nested or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
            inner = True
        yield child, inner
        yield from _walk(child, inner)


def folder(module: str) -> str:
    """The floor-level part a module belongs to: a sub-package, or a top-level module's own name."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else PACKAGE


def floor(part: str) -> int | None:
    for n, members in enumerate(LAYERS):
        if part in members:
            return n
    return None


def cycles(edges: list[Import]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan's algorithm)."""
    graph: dict[str, set[str]] = {}
    for edge in edges:
        graph.setdefault(edge.source, set()).add(edge.target)
        graph.setdefault(edge.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    sys.setrecursionlimit(max(1000, 10 * len(graph)))
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def breaches(root: Path) -> list[str]:
    edges = imports(root)
    found = [f"import cycle: {' -> '.join(group)}" for group in cycles(edges)]
    for edge in edges:
        where = f"{edge.source} (line {edge.line}) -> {edge.target}"
        src, dst = folder(edge.source), folder(edge.target)
        if edge.nested and src not in FACES:
            found.append(f"function-level or TYPE_CHECKING import outside the faces: {where}")
        if src == dst:
            continue
        if src in APART:
            if dst not in APART[src]:
                found.append(f"{src}/ may import only {', '.join(APART[src])}/: {where}")
            continue
        if dst in APART:
            continue  # anyone above core may use the server (the faces and app do)
        src_floor, dst_floor = floor(src), floor(dst)
        if src_floor is None or dst_floor is None:
            found.append(f"not on a floor of the documented order (tools/house_check.py LAYERS): {where}")
        elif dst_floor < src_floor:
            found.append(f"imports upward ({src} is below {dst}): {where}")
        elif dst_floor == src_floor and src not in FACES:
            found.append(f"imports a folder beside it on its floor ({src} and {dst}): {where}")
    return found


def main(argv: list[str]) -> int:
    root = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent.parent
    found = breaches(root)
    for line in found:
        print(line)
    if found:
        return 1
    edges = imports(root)
    print(
        f"{len(modules(root))} modules, {len(edges)} imports:",
        "no cycle, nothing upward, nothing lazy outside the faces",
    )
    for n, members in enumerate(LAYERS):
        shown = [m if m in ("app", *FACES) else m + "/" for m in members]
        print(f"  floor {len(LAYERS) - n}: {', '.join(shown)}")
    for name, allowed in APART.items():
        print(f"  beside them: {name}/ (imports only {', '.join(allowed)}/)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
