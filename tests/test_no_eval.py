"""No code path turns data into code: an AST scan of the package and the lessons.

Served lessons are safe because the only thing a browser can send to a kernel is widget
traffic (see tests/browser/test_security.py); widget callbacks are therefore the whole
attack surface. This test keeps them harmless by refusing, anywhere in ``kmeans_tutor/``
and in the lessons' code cells:

* ``eval``, ``exec``, ``compile``, ``__import__`` (also as ``builtins.X`` or via
  ``getattr(..., "X")``);
* ``pickle.loads``/``pickle.load`` (and ``marshal``/``shelve``/``dill`` loaders),
  ``os.system``, ``os.popen``, ``os.exec*``/``os.spawn*``;
* any ``subprocess`` call with ``shell=True`` (``serve.py`` starts Voilà with an argument
  list and no shell, which is allowed);
* in widget modules, ``importlib.import_module`` with anything but a constant string.

Names are resolved through the module's imports, so ``from os import system as s; s()``
and ``import pickle as p; p.loads()`` are caught too.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "kmeans_tutor"
LESSONS = ROOT / "lessons"
WIDGETS = PACKAGE / "widgets"

FORBIDDEN_BUILTINS = {"eval", "exec", "compile", "__import__"}
FORBIDDEN_CALLS = {
    "pickle.loads", "pickle.load", "pickle.Unpickler", "_pickle.loads", "_pickle.load",
    "marshal.loads", "marshal.load", "shelve.open", "dill.loads", "dill.load",
    "cloudpickle.loads", "cloudpickle.load",
    "os.system", "os.popen",
    *(f"builtins.{name}" for name in FORBIDDEN_BUILTINS),
}
FORBIDDEN_PREFIXES = ("os.exec", "os.spawn", "os.posix_spawn")
SUBPROCESS_PREFIXES = ("subprocess.", "asyncio.create_subprocess_shell")


def _imports(tree: ast.AST) -> dict[str, str]:
    """Local name → the dotted name it stands for, from every import in the tree."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    names[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    names[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _dotted(node: ast.AST, imports: dict[str, str]) -> str | None:
    """``a.b.c`` for a call's function, with the first name resolved through the imports."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(imports.get(node.id, node.id))
    return ".".join(reversed(parts))


def _is_true(node: ast.AST) -> bool:
    """``shell=`` anything but a literal False/None counts as a shell."""
    return not (isinstance(node, ast.Constant) and node.value in (False, None, 0))


def problems(source: str, filename: str = "<source>", *, widget_module: bool = False) -> list[str]:
    """Every forbidden call in ``source``, as ``file:line: what``."""
    tree = ast.parse(source, filename=filename)
    imports = _imports(tree)
    found = []

    def report(node, what):
        found.append(f"{filename}:{node.lineno}: {what}")

    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = _dotted(func, imports)
        if isinstance(func, ast.Name) and func.id in FORBIDDEN_BUILTINS and func.id not in imports:
            report(node, f"call to {func.id}()")
        if name in FORBIDDEN_CALLS or (name and name.startswith(FORBIDDEN_PREFIXES)):
            report(node, f"call to {name}()")
        if isinstance(func, ast.Name) and func.id == "getattr" and len(node.args) >= 2:
            attr = node.args[1]
            if isinstance(attr, ast.Constant) and attr.value in FORBIDDEN_BUILTINS | {"system", "popen", "loads"}:
                report(node, f"getattr(..., {attr.value!r})")
        if name and name.startswith(SUBPROCESS_PREFIXES):
            if name == "asyncio.create_subprocess_shell":
                report(node, "asyncio.create_subprocess_shell()")
            for kw in node.keywords:
                if kw.arg == "shell" and _is_true(kw.value):
                    report(node, f"{name}(..., shell=...)")
        if widget_module and name in ("importlib.import_module", "importlib.__import__"):
            if not (node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                report(node, f"{name}() with a non-constant module name")
    return found


# --- what gets scanned -------------------------------------------------------------------------


def package_modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def lesson_notebooks() -> list[Path]:
    return sorted(LESSONS.glob("*.ipynb"))


_MAGIC = re.compile(r"^\s*[%!]")


def cell_source(source: str) -> str:
    """A code cell as plain Python: IPython magics and shell escapes become ``pass``.

    A ``!command`` line would run a shell while the lesson renders; it is reported by
    :func:`test_lessons_have_no_shell_escapes` instead.
    """
    return "\n".join("pass" if _MAGIC.match(line) else line for line in source.splitlines())


def test_something_is_scanned():
    assert len(package_modules()) >= 10
    assert any(p.parent == WIDGETS for p in package_modules())
    assert lesson_notebooks(), f"no lessons in {LESSONS}"


@pytest.mark.parametrize("path", package_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_package_module_never_evaluates_data(path):
    found = problems(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)),
                     widget_module=WIDGETS in path.parents)
    assert not found, "\n".join(found)


@pytest.mark.parametrize("path", lesson_notebooks(), ids=lambda p: p.name)
def test_lesson_code_cells_never_evaluate_data(path):
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(str(path), as_version=4)
    found = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            # Lessons build widgets in their cells, so they get the widget-module rules.
            found += problems(cell_source(cell.source), f"{path.name}[cell {i}]", widget_module=True)
    assert not found, "\n".join(found)


@pytest.mark.parametrize("path", lesson_notebooks(), ids=lambda p: p.name)
def test_lessons_have_no_shell_escapes(path):
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(str(path), as_version=4)
    escapes = [f"{path.name}[cell {i}]: {line.strip()}"
               for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
               for line in cell.source.splitlines() if re.match(r"^\s*!|^\s*%%?(system|sx|sh|bash|script)\b", line)]
    assert not escapes, "\n".join(escapes)


# --- the scanner itself catches what it should ---------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "eval(w.value)",
        "exec(text)",
        "compile(src, 'x', 'exec')",
        "__import__(name)",
        "import builtins\nbuiltins.eval(x)",
        "getattr(__builtins__, 'eval')(x)",
        "import pickle\npickle.loads(data)",
        "import pickle as p\np.loads(data)",
        "from pickle import loads\nloads(data)",
        "import os\nos.system(cmd)",
        "from os import system as s\ns(cmd)",
        "import os\nos.popen(cmd)",
        "import os\nos.execv('/bin/sh', [])",
        "import subprocess\nsubprocess.run(cmd, shell=True)",
        "import subprocess as sp\nsp.Popen(cmd, shell=flag)",
        "from subprocess import check_output\ncheck_output(cmd, shell=True)",
        "import importlib\nimportlib.import_module(w.value)",
        "from importlib import import_module\nimport_module('kmeans_tutor.' + name)",
    ],
)
def test_scanner_catches(source):
    assert problems(source, widget_module=True), source


@pytest.mark.parametrize(
    "source",
    [
        "import subprocess, sys\nsubprocess.Popen([sys.executable, '-m', 'voila'])",
        "import subprocess\nsubprocess.run(['ls'], shell=False)",
        "import re\nre.compile('a+')",
        "import importlib\nimportlib.import_module('ipympl')",
        "import ast\nast.literal_eval(text)",
        "model.eval()",  # a method called eval is not the builtin
    ],
)
def test_scanner_allows(source):
    assert problems(source, widget_module=True) == [], source
