"""The optimised bytecode the lesson kernels run on (``python -OO``).

tests/test_lessons.py runs every served lesson as the server's kernels run it and checks
that no module it imports lacks this bytecode; these check the compiling itself.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

from kmeans_tutor.server import bytecode
from kmeans_tutor.server.bytecode import compile_for_kernels


def opt2(path):
    return importlib.util.cache_from_source(str(path), optimization=2)


@pytest.fixture
def package(tmp_path, monkeypatch):
    """An importable package ``kt_probe`` with a module, a subpackage and a test folder."""
    root = tmp_path / "site"
    pkg = root / "kt_probe"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "tests").mkdir()
    (pkg / "__init__.py").write_text('"""Doc."""\n')
    (pkg / "core.py").write_text("def f():\n    assert False, 'gone under -OO'\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "tests" / "test_core.py").write_text("x = 1\n")
    (root / "kt_single.py").write_text("y = 2\n")
    monkeypatch.syspath_prepend(str(root))
    return root


def test_it_writes_what_is_missing_and_skips_test_folders(package):
    pkg = package / "kt_probe"
    assert compile_for_kernels(("kt_probe", "kt_single"), stdlib=False) is None
    for source in (pkg / "__init__.py", pkg / "core.py", pkg / "sub" / "__init__.py", package / "kt_single.py"):
        assert os.path.exists(opt2(source)), source
        assert not os.path.exists(importlib.util.cache_from_source(str(source)))  # -OO only
    assert not os.path.exists(opt2(pkg / "tests" / "test_core.py"))


def test_it_only_checks_what_is_up_to_date_and_recompiles_an_edited_module(package):
    core = package / "kt_probe" / "core.py"
    assert compile_for_kernels(("kt_probe",), stdlib=False) is None
    first = os.stat(opt2(core)).st_mtime_ns
    assert compile_for_kernels(("kt_probe",), stdlib=False) is None
    assert os.stat(opt2(core)).st_mtime_ns == first  # not written again
    core.write_text("def f():\n    return 3\n")
    os.utime(core, (os.stat(core).st_atime + 10, os.stat(core).st_mtime + 10))
    assert compile_for_kernels(("kt_probe",), stdlib=False) is None
    assert os.stat(opt2(core)).st_mtime_ns != first


def test_the_bytecode_is_what_python_OO_loads(package):
    compile_for_kernels(("kt_probe",), stdlib=False)
    code = ("import sys, kt_probe, kt_probe.core as c; c.f(); "
            "print(sys.flags.optimize, kt_probe.__doc__, c.__cached__.endswith('opt-2.pyc'))")
    env = {"PYTHONPATH": str(package), "PYTHONOPTIMIZE": "2", "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert result.stdout.split() == ["2", "None", "True"], result.stderr


def test_a_folder_it_cannot_write_is_named(package):
    # Any user, root included, fails to make a __pycache__ folder where a file has its name.
    (package / "kt_probe" / "sub" / "__pycache__").write_text("not a folder")
    problem = compile_for_kernels(("kt_probe", "kt_single"), stdlib=False)
    assert problem.startswith(f"could not write the optimised bytecode of {package / 'kt_probe'}")
    assert "\n" not in problem


def test_a_module_that_does_not_compile_is_named(package):
    (package / "kt_single.py").write_text("def broken(:\n")
    problem = compile_for_kernels(("kt_probe", "kt_single"), stdlib=False)
    assert problem == (f"could not write the optimised bytecode of {package / 'kt_single.py'} "
                       "(read-only, or a file that does not compile)")


def test_packages_that_are_not_installed_are_skipped():
    assert compile_for_kernels(("kt_no_such_package_here",), stdlib=False) is None


def test_the_command_says_what_it_did(monkeypatch, capsys):
    monkeypatch.setattr(bytecode, "compile_for_kernels", lambda **kwargs: None)
    assert bytecode.main() == 0
    assert "they run as python -OO" in capsys.readouterr().out
    monkeypatch.setattr(bytecode, "compile_for_kernels", lambda **kwargs: "could not write X")
    assert bytecode.main() == 1
    assert capsys.readouterr().err == "Lesson kernels will run without -OO: could not write X.\n"
