"""Packaging and import-layering checks.

* The wheel carries the package and the Mall Customers data, and no tests; once installed
  into a fresh virtualenv it imports and loads the data without the checkout.
* Importing the package never pulls in scikit-learn or SciPy (dev-only dependencies).
* The folders are the layers: core ← data ← views ← widgets, the server apart, cli.py on
  top. Every import in the package (at the top of a module or inside a function) points
  down the layers, no module imports another's underscore names, a private module is
  used only inside its own folder, and no two modules import each other, even indirectly.
"""

import ast
import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG_DIR = ROOT / "kmeans_tutor"

MALL_COLUMNS = ["Gender", "Age", "Annual Income (k$)", "Spending Score (1-100)"]

# The layers, lowest first: a module may import from its own folder and the folders before it.
LAYERS = ("core", "data", "views", "widgets")
APART = ("server",)  # uses the package; nothing in the package uses it


def _run(cmd, **kwargs):
    """Run a command, failing the test with its output if it exits non-zero."""
    proc = subprocess.run(
        [str(c) for c in cmd], capture_output=True, text=True, timeout=240, **kwargs
    )
    if proc.returncode != 0:
        shown = " ".join(c if len(c) < 200 else "<script>" for c in map(str, cmd))
        pytest.fail(
            f"command failed ({proc.returncode}): {shown}\n"
            f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}",
            pytrace=False,
        )
    return proc


# --------------------------------------------------------------------------- wheel


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """Build the wheel once, with the dev venv's own hatchling (no network)."""
    outdir = tmp_path_factory.mktemp("dist")
    _run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", outdir],
        cwd=ROOT,
    )
    wheels = sorted(outdir.glob("kmeans_tutor-*.whl"))
    assert len(wheels) == 1, f"expected one wheel, got {wheels}"
    return wheels[0]


@pytest.mark.slow
def test_wheel_contains_package_and_data_but_no_tests(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())

    assert "kmeans_tutor/data/_files/mall_customers.csv" in names
    assert "kmeans_tutor/data/_files/flower.jpg" in names  # lesson 9's photo
    # The lessons ship inside the package, so `kmeans-tutor serve` works when installed.
    lessons = sorted(p.name for p in (ROOT / "lessons").glob("*.ipynb"))
    assert lessons and all(f"kmeans_tutor/server/_lessons/{name}" in names for name in lessons)
    # So does the lesson server's page template (found through JUPYTER_PATH).
    template = "kmeans_tutor/server/_jupyter/voila/templates/kmeans-tutor/"
    assert {template + f for f in ("conf.json", "index.html.j2", "503.html")} <= names
    assert "kmeans_tutor/server/_error_pages/error.html" in names

    modules = {
        p.relative_to(ROOT).as_posix()
        for p in PKG_DIR.rglob("*.py")
        if "__pycache__" not in p.parts
    }
    assert "kmeans_tutor/__init__.py" in modules
    missing = sorted(modules - names)
    assert not missing, f"package modules missing from the wheel: {missing}"

    top_level = {n.split("/", 1)[0] for n in names}
    stray = sorted(t for t in top_level if t != "kmeans_tutor" and not t.endswith(".dist-info"))
    assert not stray, f"unexpected top-level entries in the wheel: {stray}"

    test_files = sorted(
        n
        for n in names
        if "/tests/" in f"/{n}"
        or n.rsplit("/", 1)[-1].startswith("test_")
        or n.endswith("conftest.py")
    )
    assert not test_files, f"tests shipped in the wheel: {test_files}"


# Runs inside the fresh venv (python -I, cwd outside the checkout).
# argv: fresh venv dir, checkout dir, dev venv site-packages dir, dev venv dir.
_INSTALLED_CHECK = r"""
import importlib.resources, os, sys
from pathlib import Path

venv, checkout, dev_site, dev_venv = (Path(a).resolve() for a in sys.argv[1:5])

def inside(path, parent):
    return Path(path).resolve().is_relative_to(parent)

# Record every file opened from the checkout (other than the dev venv, which may live
# inside it and provides numpy & co.): the installed package must not need the checkout.
opened_in_checkout = []
def audit(event, args):
    if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        path = os.fsdecode(args[0])
        if path and inside(path, checkout) and not inside(path, dev_venv):
            opened_in_checkout.append(path)
sys.addaudithook(audit)

# The .pth line put the dev venv's site-packages on sys.path (so numpy & co. import) ...
assert any(p and Path(p).resolve() == dev_site for p in sys.path), sys.path
# ... but the .pth files inside it were not processed: the editable install's path entry
# (the checkout) and any editable finder are absent.
assert not any(p and Path(p).resolve() == checkout for p in sys.path), sys.path
finders = [type(f).__module__ + "." + type(f).__qualname__ for f in sys.meta_path]
assert not any("editable" in f.lower() for f in finders), finders

import kmeans_tutor
assert kmeans_tutor.__file__ is not None, "kmeans_tutor resolved to a namespace package"
assert inside(kmeans_tutor.__file__, venv), kmeans_tutor.__file__

data = importlib.resources.files("kmeans_tutor.data") / "_files" / "mall_customers.csv"
assert data.is_file() and inside(str(data), venv), str(data)

import numpy
assert inside(numpy.__file__, dev_site), numpy.__file__

from kmeans_tutor.server import serve
template = serve.JUPYTER_DATA_DIR / "voila" / "templates" / serve.TEMPLATE / "index.html.j2"
assert template.is_file() and inside(template, venv), template
assert inside(serve.find_lessons_dir(), venv), serve.find_lessons_dir()

df = kmeans_tutor.load_mall_customers()
assert len(df) == 200, len(df)
assert list(df.columns) == COLUMNS, list(df.columns)
assert not opened_in_checkout, opened_in_checkout
print("installed-ok", kmeans_tutor.__file__)
"""


@pytest.mark.slow
def test_wheel_installs_into_fresh_venv_and_loads_data(wheel, tmp_path):
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", venv])
    vpy = venv / "bin" / "python"
    _run([vpy, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", wheel])

    # Make the dev venv's third-party packages importable without installing them again.
    # A path listed in a .pth file is appended to sys.path, but .pth files *inside* that
    # directory are not processed, so the dev venv's editable hook (which points at the
    # checkout) stays inactive. The script below checks that this holds.
    dev_sites = list(dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib")))
    fresh_site = _run(
        [vpy, "-I", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
    ).stdout.strip()
    Path(fresh_site, "_kmeans_tutor_dev_deps.pth").write_text("\n".join(dev_sites) + "\n")

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV"}
    }
    script = f"COLUMNS = {MALL_COLUMNS!r}\n" + _INSTALLED_CHECK
    proc = _run(
        # -I: ignore PYTHON* variables and the user site, and keep cwd off sys.path.
        [vpy, "-I", "-c", script, venv, ROOT, dev_sites[0], sys.prefix],
        cwd=elsewhere,
        env=env,
    )
    assert "installed-ok" in proc.stdout


# ------------------------------------------------------------------ import layering

# Imports the given modules one by one in a fresh interpreter and reports, for each
# watched top-level package, the first module whose import brought it in.
_IMPORT_PROBE = r"""
import importlib, json, pkgutil, sys

modules, watched = json.loads(sys.argv[1]), json.loads(sys.argv[2])
for name in json.loads(sys.argv[3]):  # dependencies' own imports are not the package's doing
    importlib.import_module(name)

def loaded():
    return {w for w in watched if any(m == w or m.startswith(w + ".") for m in sys.modules)}

if modules is None:  # the whole package
    import kmeans_tutor
    modules = ["kmeans_tutor"] + sorted(
        m.name for m in pkgutil.walk_packages(kmeans_tutor.__path__, "kmeans_tutor.")
    )

culprits, before = {}, loaded()
for name in modules:
    importlib.import_module(name)
    now = loaded()
    for w in sorted(now - before):
        culprits[w] = name
    before = now
print(json.dumps({"modules": modules, "culprits": culprits}))
"""


def _probe_imports(modules, watched, first=()):
    proc = _run(
        [sys.executable, "-c", _IMPORT_PROBE, json.dumps(modules), json.dumps(watched), json.dumps(list(first))],
        cwd=ROOT,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_importing_the_package_does_not_import_sklearn_or_scipy():
    # Numba (a dependency) imports SciPy where it is installed, to check its version.
    result = _probe_imports(None, ["sklearn", "scipy"], first=["numba"])
    assert len(result["modules"]) > 1, result["modules"]
    assert not result["culprits"], (
        "scikit-learn/SciPy are dev-only dependencies, but importing "
        + ", ".join(f"{mod} pulled in {pkg}" for pkg, mod in result["culprits"].items())
    )


def _package_imports():
    """Every import of the package, from the source: (module, line, imported module, names)."""
    found = []
    for path in sorted(PKG_DIR.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        is_pkg = parts[-1] == "__init__"
        module = ".".join(parts[:-1] if is_pkg else parts)
        package = module if is_pkg else module.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    found.append((module, node.lineno, alias.name, ()))
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module
                names = tuple(a.name for a in node.names)
                found.append((module, node.lineno, target, names))
    return found


def _resolve(target, names, modules):
    """The package modules an import statement loads (``from pkg import mod`` counts mod)."""
    if not target.startswith("kmeans_tutor"):
        return []
    out = [target] if target in modules else []
    out += [f"{target}.{n}" for n in names if f"{target}.{n}" in modules]
    return out


def _folder(module: str) -> str:
    """'core' for kmeans_tutor.core.lloyd, '' for kmeans_tutor, 'cli' for kmeans_tutor.cli."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _modules():
    return {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            for p in PKG_DIR.rglob("*.py")}


def test_the_folders_are_the_layers():
    modules = _modules()
    assert {f"kmeans_tutor.{f}" for f in (*LAYERS, *APART)} <= modules
    flat = sorted(m for m in modules if m.count(".") == 1 and _folder(m) not in (*LAYERS, *APART))
    assert flat == ["kmeans_tutor.cli"], f"modules at the top of the package: {flat}"
    rank = {name: i for i, name in enumerate(LAYERS)}
    breaks = []
    for module, line, target, names in _package_imports():
        src = _folder(module)
        for dest in (_folder(t) for t in _resolve(target, names, modules)):
            if dest in ("", src):
                continue
            if src == "":  # the package's __init__ re-exports the lower layers
                ok = dest in ("core", "data")
            elif src == "cli":
                ok = True
            elif src in APART:
                ok = dest in rank
            elif dest in APART or dest == "cli":
                ok = False
            else:
                ok = rank[dest] < rank[src]
            if not ok:
                breaks.append(f"{module}:{line} imports {target} ({src} → {dest})")
    assert not breaks, "imports against the layers: " + "; ".join(breaks)


def test_no_private_reach_ins():
    modules = _modules()
    found = []
    for module, line, target, names in _package_imports():
        if not target.startswith("kmeans_tutor"):
            continue
        private_names = [n for n in names if n.startswith("_") and not n.startswith("__")
                         and f"{target}.{n}" not in modules]
        if private_names:
            found.append(f"{module}:{line} imports {private_names} from {target}")
        for dest in _resolve(target, names, modules):
            leaf = dest.rsplit(".", 1)[-1]
            if leaf.startswith("_") and leaf != "__init__" and \
                    dest.rsplit(".", 1)[0] != module.rsplit(".", 1)[0]:
                found.append(f"{module}:{line} uses the private module {dest} from another folder")
    assert not found, "; ".join(found)


def test_no_import_circles():
    modules = _modules()
    graph = {m: set() for m in modules}
    for module, _, target, names in _package_imports():
        for dest in _resolve(target, names, modules):
            if dest != module:
                graph[module].add(dest)
    # A package's __init__ re-exporting its own modules is not a circle.
    for m in graph:
        graph[m] = {d for d in graph[m] if not m.startswith(d + ".")}
    cycles, state = [], {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert not cycles, "import circles: " + "; ".join(" → ".join(c) for c in cycles)


def test_core_and_data_do_not_import_matplotlib_or_ipywidgets():
    # The package __init__ is imported first so that it is named if it is the culprit.
    lower = sorted(m for m in _modules() if _folder(m) in ("core", "data"))
    result = _probe_imports(["kmeans_tutor", *lower], ["matplotlib", "ipywidgets"])
    assert not result["culprits"], (
        "core and data must not draw, but importing "
        + ", ".join(f"{mod} pulled in {pkg}" for pkg, mod in result["culprits"].items())
    )


def test_the_server_plugin_names_resolve_to_its_classes():
    import importlib

    from voila.app import Voila

    from kmeans_tutor.server import lesson_kernels, serve, voila_app

    for dotted, cls in ((serve.KERNEL_MANAGER, lesson_kernels.LessonKernelManager),
                        (serve.WEBSOCKET_CONNECTION, lesson_kernels.LessonWebsocketConnection)):
        module, name = dotted.rsplit(".", 1)
        assert getattr(__import__(module, fromlist=[name]), name) is cls
    # The module `python -m` runs in place of voila: Voilà's app, launched by main().
    app_module = importlib.import_module(serve.VOILA_APP)
    assert app_module is voila_app and issubclass(voila_app.LessonVoila, Voila)
    assert app_module.main == voila_app.LessonVoila.launch_instance


# ---------------------------------------------------------------------------- data


def test_mall_customers_csv_sits_next_to_its_readme():
    data_dir = ROOT / "data"
    assert (data_dir / "mall_customers.csv").is_file()
    readme = data_dir / "README.md"
    assert readme.is_file(), "data/README.md should say where mall_customers.csv comes from"
    assert readme.read_text(encoding="utf-8").strip(), "data/README.md is empty"
