"""Packaging and import-layering checks.

* The wheel carries the package and the Mall Customers data, and no tests; once installed
  into a fresh virtualenv it imports and loads the data without the checkout.
* Importing the package never pulls in scikit-learn or SciPy (dev-only dependencies), and
  the algorithm modules do not pull in matplotlib or ipywidgets (STYLE.md, point 1).
"""

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

# Modules that make up the algorithm layer: numpy/pandas only, no drawing, no widgets.
# Views, palette, animation, app*, widgets, cli and lessons are deliberately not listed.
ALGORITHM_MODULES = (
    "steps",
    "lloyd",
    "seeding",
    "_kernels",
    "_validation",
    "trace",
    "estimator",
    "metrics",
    "knee",
    "choosing",
    "data",
    "preprocessing",
    "datasets",
    "profiles",
)


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

    assert "kmeans_tutor/_data/mall_customers.csv" in names
    # The lessons ship inside the package, so `kmeans-tutor serve` works when installed.
    lessons = sorted(p.name for p in (ROOT / "lessons").glob("*.ipynb"))
    assert lessons and all(f"kmeans_tutor/_lessons/{name}" in names for name in lessons)
    # So does the lesson server's page template (found through JUPYTER_PATH).
    template = "kmeans_tutor/_jupyter/voila/templates/kmeans-tutor/"
    assert {template + f for f in ("conf.json", "index.html.j2", "503.html")} <= names

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

data = importlib.resources.files("kmeans_tutor") / "_data" / "mall_customers.csv"
assert data.is_file() and inside(str(data), venv), str(data)

import numpy
assert inside(numpy.__file__, dev_site), numpy.__file__

from kmeans_tutor import serve
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


def _probe_imports(modules, watched):
    proc = _run(
        [sys.executable, "-c", _IMPORT_PROBE, json.dumps(modules), json.dumps(watched)],
        cwd=ROOT,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_importing_the_package_does_not_import_sklearn_or_scipy():
    result = _probe_imports(None, ["sklearn", "scipy"])
    assert len(result["modules"]) > 1, result["modules"]
    assert not result["culprits"], (
        "scikit-learn/SciPy are dev-only dependencies, but importing "
        + ", ".join(f"{mod} pulled in {pkg}" for pkg, mod in result["culprits"].items())
    )


def test_algorithm_modules_do_not_import_matplotlib_or_ipywidgets():
    present = [
        f"kmeans_tutor.{name}"
        for name in ALGORITHM_MODULES
        if (PKG_DIR / f"{name}.py").is_file() or (PKG_DIR / name / "__init__.py").is_file()
    ]
    if not present:
        pytest.skip("no algorithm modules exist yet")
    # The package __init__ is imported first so that it is named if it is the culprit.
    result = _probe_imports(["kmeans_tutor", *present], ["matplotlib", "ipywidgets"])
    assert not result["culprits"], (
        "the algorithm layer must import only numpy/pandas, but importing "
        + ", ".join(f"{mod} pulled in {pkg}" for pkg, mod in result["culprits"].items())
    )


# ---------------------------------------------------------------------------- data


def test_mall_customers_csv_sits_next_to_its_readme():
    data_dir = ROOT / "data"
    assert (data_dir / "mall_customers.csv").is_file()
    readme = data_dir / "README.md"
    assert readme.is_file(), "data/README.md should say where mall_customers.csv comes from"
    assert readme.read_text(encoding="utf-8").strip(), "data/README.md is empty"
