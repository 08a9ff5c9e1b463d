"""The shape holds: every import in src/bakeoff (function-level ones too) points down the layers that
ARCHITECTURE.md draws, and no two parts import each other, directly or round a cycle."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "bakeoff"

# part -> floor; an import may go to a lower floor, or sideways within a floor when it makes no cycle
FLOORS = {
    "cli": 7, "__main__": 7,
    "api": 6,
    "study": 5, "report": 5, "export": 5,
    "runs": 4, "distributed_main": 4,
    "training": 3, "eval": 3, "compression": 3, "embedding": 3,
    "data": 2, "tasks": 2, "models": 2, "problems": 2,
    "config": 1, "track": 1, "io": 1, "runtime": 1, "hardware": 1, "errors": 1, "metrics": 1, "_version": 1,
}


def _part(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "bakeoff":
        return None
    return parts[1] if len(parts) > 1 else "bakeoff"


def _imports() -> list[tuple[str, str, str]]:
    """(file, importing part, imported part) for every bakeoff import in the source tree."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC.parent)
        source = _part(".".join(relative.with_suffix("").parts))
        if path.name == "__init__.py" and path.parent == SRC:
            source = "bakeoff"
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] if node.module != "bakeoff" else [f"bakeoff.{a.name}" for a in node.names]
            for name in names:
                target = _part(name)
                if target and target != source:
                    found.append((str(relative), source, target))
    return found


def test_every_part_has_a_floor():
    parts = {p.stem if p.is_file() else p.name for p in SRC.iterdir()
             if (p.suffix == ".py" and p.name != "__init__.py") or (p.is_dir() and (p / "__init__.py").exists())}
    assert parts <= set(FLOORS), f"add these parts to FLOORS and ARCHITECTURE.md: {sorted(parts - set(FLOORS))}"


def test_imports_point_down():
    upward = [f"{file}: {source} imports {target}" for file, source, target in _imports()
              if source != "bakeoff" and FLOORS[target] > FLOORS[source]]
    assert not upward, "imports against the direction:\n" + "\n".join(upward)


def test_nothing_below_the_entry_imports_the_package_root():
    # the root re-exports the API: importing it from below would close a cycle through api
    rooted = [f"{file}: {source}" for file, source, target in _imports() if target == "bakeoff"]
    assert not rooted, "\n".join(rooted)


def test_no_cycle_between_parts():
    graph: dict[str, set[str]] = {}
    for _, source, target in _imports():
        if source != "bakeoff":
            graph.setdefault(source, set()).add(target)

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in graph.get(start, ()):
            if nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})):
                return True
        return False

    cycles = sorted(f"{a} -> {b} -> ... -> {a}" for a in graph for b in graph[a] if reaches(b, a, {b}))
    assert not cycles, "\n".join(cycles)
