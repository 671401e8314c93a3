"""Module structure: the modules of ``mixlane.synth`` import each other without cycles, in layers, and no
module imports another mixlane module's private (``_name``) names.

Static checks (the source is parsed, nothing is imported), function-local imports included.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SYNTH = ROOT / "synth"

#: The layers of ``mixlane.synth``, lowest first: a module imports only from lower layers.
#: (``__init__`` re-exports the public API and ``__main__`` is the ``python -m mixlane.synth`` script: both on top.)
LAYERS = [
    {"tools"},
    {"liberty"},
    {"flow", "sta", "workload", "vcd"},
    {"power", "metrics"},
    {"cache", "render"},
    {"compare"},
    {"report"},
    {"__init__", "__main__"},
]


def _synth_modules() -> set[str]:
    return {p.stem for p in SYNTH.glob("*.py")}


def _imports(path: Path) -> list[tuple[ast.AST, str | None, list[str]]]:
    """Every import of a file, at any depth: (node, absolute-or-relative module, imported names)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                out.append((node, alias.name, []))
        elif isinstance(node, ast.ImportFrom):
            mod = "." * node.level + (node.module or "")
            out.append((node, mod, [a.name for a in node.names]))
    return out


def _synth_deps(path: Path) -> set[str]:
    """The modules of ``mixlane.synth`` that ``path`` (a file of synth/) imports."""
    modules = _synth_modules()
    deps = set()
    for node, mod, names in _imports(path):
        if mod.startswith("..") or not (mod.startswith(".") or mod == "mixlane.synth"
                                       or mod.startswith("mixlane.synth.")):
            continue
        rest = mod[1:] if mod.startswith(".") else mod[len("mixlane.synth"):].lstrip(".")
        if rest:
            deps.add(rest.split(".")[0])
        elif isinstance(node, ast.ImportFrom):   # from . import x / from mixlane.synth import x
            deps.update(n if n in modules else "__init__" for n in names)
        else:                                    # import mixlane.synth
            deps.add("__init__")
    deps.discard(path.stem)
    return deps


def _graph() -> dict[str, set[str]]:
    return {p.stem: _synth_deps(p) for p in sorted(SYNTH.glob("*.py"))}


def test_synth_imports_acyclic():
    graph = _graph()
    assert {"tools", "liberty", "flow", "report"} <= set(graph)
    state: dict[str, int] = {}   # 1: on the current path, 2: done
    stack: list[str] = []

    def visit(mod: str) -> None:
        state[mod] = 1
        stack.append(mod)
        for dep in sorted(graph.get(mod, ())):
            if state.get(dep) == 1:
                cycle = stack[stack.index(dep):] + [dep]
                raise AssertionError("import cycle in mixlane.synth: " + " -> ".join(cycle))
            if dep not in state:
                visit(dep)
        stack.pop()
        state[mod] = 2

    for mod in sorted(graph):
        if mod not in state:
            visit(mod)


def test_synth_modules_follow_the_layers():
    graph = _graph()
    layer = {m: i for i, mods in enumerate(LAYERS) for m in mods}
    assert set(graph) == set(layer), f"modules without a layer (or gone): {set(graph) ^ set(layer)}"
    bad = [f"{mod} (layer {layer[mod]}) imports {dep} (layer {layer[dep]})"
           for mod, deps in graph.items() for dep in deps if layer[dep] >= layer[mod]]
    assert not bad, "; ".join(sorted(bad))


def _private_imports(paths: list[Path]) -> list[str]:
    """``from <mixlane module> import _name`` anywhere in ``paths`` (files or folders)."""
    found = []
    files = [f for p in paths for f in (sorted(p.rglob("*.py")) if p.is_dir() else [p])]
    for f in files:
        for node, mod, names in _imports(f):
            if not isinstance(node, ast.ImportFrom):
                continue
            if not (mod.startswith(".") or mod == "mixlane" or mod.startswith("mixlane.")):
                continue
            for name in names:
                if name.startswith("_") and not (name.startswith("__") and name.endswith("__")):
                    found.append(f"{f.relative_to(ROOT)}:{node.lineno}: from {mod} import {name}")
    return found


def test_no_private_names_imported_across_modules():
    # All of mixlane's packages: mixlane/ (the CLI), rtl/, golden/, sim_tb/, synth/ and formal/ (mapped into mixlane.* by
    # pyproject.toml). ``from .x import _y`` / ``from mixlane.x import _y`` reaches into another module's
    # internals; a name another module needs is public (no underscore, in that module's __all__).
    dirs = [ROOT / d for d in ("mixlane", "rtl", "golden", "sim_tb", "synth", "formal")]
    assert all(d.is_dir() for d in dirs)
    found = _private_imports(dirs)
    assert not found, "private names imported across modules:\n" + "\n".join(found)
