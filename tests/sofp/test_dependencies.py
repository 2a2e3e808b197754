"""Dependencies point one way: ``planning`` → ``valuestreams`` → ``sofp``.

Read from the source with ``ast`` (every ``import``, also inside functions, and every
``import_module``/``import_string`` of a literal): nothing in ``valuestreams`` imports
``planning``, nothing in ``sofp`` imports either app. The root URLconf and the settings
name the apps by dotted strings (``include("planning.urls")``, ``INSTALLED_APPS``):
they are the composition root, and they import nothing from the apps.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# package → the packages it must never import
FORBIDDEN = {
    "sofp": ("planning", "valuestreams"),
    "valuestreams": ("planning",),
}
# The pure modules: pandas and numpy in, pandas out; no Django, no ORM.
PURE = (
    "planning/engine.py",
    "planning/frames.py",
    "planning/measures.py",
    "planning/calendar.py",
    "planning/dashboards.py",
    "planning/charts.py",
    "planning/baseline.py",
    "planning/links.py",
)
DYNAMIC_IMPORTERS = {"import_module", "import_string", "__import__"}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """``(line, module)`` of every import in ``path``, wherever it stands."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.Call):
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name in DYNAMIC_IMPORTERS and node.args:
                arg = node.args[0]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    found.append((node.lineno, arg.value))
    return found


def _sources(package: str) -> list[Path]:
    return sorted(p for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts)


def _hits(module: str, banned: tuple[str, ...]) -> bool:
    return any(module == b or module.startswith(f"{b}.") for b in banned)


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_lower_layers_never_import_higher_ones(package):
    banned = FORBIDDEN[package]
    offenders = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in _sources(package)
        for line, module in imported_modules(path)
        if _hits(module, banned)
    ]
    assert offenders == []


def test_valuestreams_migrations_do_not_depend_on_planning():
    for path in sorted((ROOT / "valuestreams" / "migrations").glob("*.py")):
        assert "planning" not in path.read_text(), path


PURE_MODULES = {m.removesuffix(".py").replace("/", ".") for m in PURE}


@pytest.mark.parametrize("module", PURE)
def test_pure_modules_import_no_django(module):
    """They may import the standard library, pandas, numpy, plotly and each other."""
    offenders = [
        f"{module}:{line} imports {name}"
        for line, name in imported_modules(ROOT / module)
        if _hits(name, ("django", "rest_framework", "valuestreams", "sofp"))
        or (_hits(name, ("planning",)) and not _hits(name, tuple(PURE_MODULES)))
    ]
    assert offenders == []


def test_the_scan_sees_imports_inside_functions(tmp_path):
    """A guard against a scan that silently finds nothing."""
    source = tmp_path / "m.py"
    source.write_text(
        "def f():\n    from planning.models import PlanValue\n    import_module('planning.urls')\n"
    )
    assert [m for _, m in imported_modules(source)] == [
        "planning.models",
        "planning.models.PlanValue",
        "planning.urls",
    ]
