"""Layers import downward only, and no module of fusion/ imports itself back through others.

Every ``import`` / ``from ... import`` in every module of the package counts, module-level or inside a
function (a lazy import is still a dependency). The order is the one in docs/architecture.md.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "fusion"

# each layer may import from its own layer and the layers before it
LAYERS = [
    ("contracts", ["errors", "overrides", "components", "registry", "hookspecs", "plugins", "default_plugins"]),
    ("data", ["audio", "data", "cache", "labels", "recipes", "text_noise", "augment", "pooling", "progress"]),
    ("inputs", ["features", "transcripts", "speaker_norm"]),
    ("model", ["heads", "model"]),
    ("training", ["training"]),
    ("runners", ["experiment", "runners", "report"]),
    ("serving", ["inference", "export", "web"]),
    ("interface", ["commands", "cli", "__main__"]),
]
LAYER_OF = {name: i for i, (_, names) in enumerate(LAYERS) for name in names}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported(name: str, path: Path, known: set[str]) -> set[str]:
    """The fusion modules ``name`` imports (resolved relative imports; ``from pkg import mod`` -> pkg.mod)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.split(".")[0] == "fusion")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "fusion":
                continue
            subs = {f"{target}.{a.name}" for a in node.names} & known
            out.update(subs or {target})
    return {m for m in out if m != name}


def layer(module: str) -> int | None:
    """The layer of a fusion module; None for the package itself (its public API re-exports all layers)."""
    parts = module.split(".")
    if len(parts) == 1:
        return None
    if parts[1] not in LAYER_OF:
        raise AssertionError(f"{module} is in no layer: add it to LAYERS in tests/test_layers.py")
    return LAYER_OF[parts[1]]


def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imported(name, path, set(found)) for name, path in found.items()}


def test_every_module_is_in_a_layer():
    for name in modules():
        layer(name)


def test_no_module_imports_from_a_layer_above_it():
    upward = []
    for name, deps in graph().items():
        own = layer(name)
        if own is None:
            continue
        for dep in sorted(deps):
            theirs = layer(dep)
            if theirs is not None and theirs > own:
                upward.append(f"{name} ({LAYERS[own][0]}) imports {dep} ({LAYERS[theirs][0]})")
    assert not upward, "imports against the layer order:\n" + "\n".join(upward)


def test_no_import_cycles():
    deps = {name: {d for d in ds if layer(d) is not None} for name, ds in graph().items()}
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    cycles = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for dep in sorted(deps.get(node, ())):
            if state.get(dep) == 1:
                cycles.append(" -> ".join(stack[stack.index(dep):] + [node, dep]) if dep in stack
                              else f"{node} -> {dep}")
            elif dep not in state:
                visit(dep, stack + [node])
        state[node] = 2

    for name in sorted(deps):
        if name not in state:
            visit(name, [])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


@pytest.mark.parametrize("source, expected", [
    ("from ..model import EmotionModel", {"fusion.model"}),
    ("from .. import audio as audio_io", {"fusion.audio"}),
    ("import fusion.training.trainer", {"fusion.training.trainer"}),
    ("def f():\n    from ..inference.predictor import Predictor", {"fusion.inference.predictor"}),
])
def test_imports_are_resolved(tmp_path, source, expected):
    """The checker itself: relative, submodule and lazy imports are all seen (else it proves nothing)."""
    path = tmp_path / "mod.py"
    path.write_text(source)
    known = {"fusion.model", "fusion.audio", "fusion.training.trainer", "fusion.inference.predictor"}
    assert imported("fusion.runners.mod", path, known) == expected
