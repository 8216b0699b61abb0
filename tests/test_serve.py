"""The lesson server's command line and checks, without starting Voilà.

End-to-end serving is in tests/browser/test_server.py.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from kmeans_tutor import cli
from kmeans_tutor.serve import (
    LessonNotFoundError,
    PortInUseError,
    ServeError,
    build_voila_command,
    check_port_free,
    find_lesson,
    find_lessons_dir,
    is_local_host,
    lesson_path,
    list_lessons,
    serve,
    server_url,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def lessons(tmp_path):
    """A lesson folder with an index, lessons 1, 2 and 10, and a non-lesson file."""
    for name in ("00_index.ipynb", "01_assign.ipynb", "02_update step.ipynb", "10_choose_k.ipynb", "notes.ipynb"):
        (tmp_path / name).write_text("{}")
    return tmp_path


@pytest.fixture
def busy_port():
    """A port on 127.0.0.1 that another socket is listening on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


# --- build_voila_command -------------------------------------------------------------


def test_defaults_are_safe(lessons):
    cmd = build_voila_command(lessons)
    assert cmd[:4] == [sys.executable, "-m", "voila", str(lessons.resolve())]
    for flag in [
        "--Voila.ip=127.0.0.1",
        "--Voila.port=8866",
        "--Voila.port_retries=0",
        "--no-browser",
        "--strip_sources=True",
        "--show_tracebacks=False",
        "--VoilaConfiguration.allow_theme_override=NO",
        "--VoilaConfiguration.allow_template_override=NO",
        "--VoilaExecutor.timeout=60",
        "--MappingKernelManager.cull_interval=60",
        "--MappingKernelManager.cull_idle_timeout=600",
        "--MappingKernelManager.cull_connected=False",
        r"--VoilaConfiguration.file_denylist=.*\.(ipynb|py)",
    ]:
        assert flag in cmd
    assert not [arg for arg in cmd if arg.startswith("--") and "token" in arg.lower()]


def test_options_reach_the_command(lessons):
    cmd = build_voila_command(
        lessons, port=9000, host="localhost", cell_timeout=5, cull_interval=2,
        cull_idle_timeout=7, cull_connected=True, show_tracebacks=True, extra_args=["--debug"],
    )
    for flag in [
        "--Voila.ip=localhost", "--Voila.port=9000", "--VoilaExecutor.timeout=5",
        "--MappingKernelManager.cull_interval=2", "--MappingKernelManager.cull_idle_timeout=7",
        "--MappingKernelManager.cull_connected=True", "--show_tracebacks=True",
    ]:
        assert flag in cmd
    assert cmd[-1] == "--debug"


@pytest.mark.parametrize("host", ["0.0.0.0", "", "::", "192.168.1.20", "teacher-laptop"])
def test_non_local_host_needs_a_token(lessons, host):
    with pytest.raises(ValueError, match="token"):
        build_voila_command(lessons, host=host)


def test_token_is_passed_to_voila(lessons):
    cmd = build_voila_command(lessons, host="0.0.0.0", token="s3cret")
    assert "--Voila.token=s3cret" in cmd


def test_token_in_env_keeps_it_off_the_command_line(lessons):
    cmd = build_voila_command(lessons, host="0.0.0.0", token="s3cret", token_in_env=True)
    assert "--Voila.auto_token=True" in cmd
    assert not [arg for arg in cmd if "s3cret" in arg]


def test_no_token_allows_an_open_server(lessons):
    cmd = build_voila_command(lessons, host="0.0.0.0", no_token=True)
    assert "--Voila.ip=0.0.0.0" in cmd
    assert not [arg for arg in cmd if arg.startswith("--") and "token" in arg.lower()]


def test_token_and_no_token_conflict(lessons):
    with pytest.raises(ValueError, match="not both"):
        build_voila_command(lessons, token="x", no_token=True)


@pytest.mark.parametrize("host, local", [
    ("127.0.0.1", True), ("127.1.2.3", True), ("localhost", True), ("::1", True), ("[::1]", True),
    ("0.0.0.0", False), ("", False), ("::", False), ("10.0.0.5", False), ("127.0.0.256", False),
    ("example.org", False),
])
def test_is_local_host(host, local):
    assert is_local_host(host) is local


@pytest.mark.parametrize("port", [0, -1, 65536, 100000, "http", 1.5, True, None])
def test_bad_port_values(lessons, port):
    with pytest.raises(ValueError, match="port must be an integer from 1 to 65535"):
        build_voila_command(lessons, port=port)


@pytest.mark.parametrize("name", ["cell_timeout", "cull_interval", "cull_idle_timeout"])
@pytest.mark.parametrize("value", [0, -5, 1.5, "60"])
def test_bad_times(lessons, name, value):
    with pytest.raises(ValueError, match=name):
        build_voila_command(lessons, **{name: value})


def test_missing_lessons_folder(tmp_path):
    with pytest.raises(ServeError, match="does not exist"):
        build_voila_command(tmp_path / "nope")


# --- lessons ---------------------------------------------------------------------------


def test_lessons_are_found_by_number(lessons):
    assert {n: [p.name for p in ps] for n, ps in list_lessons(lessons).items()} == {
        0: ["00_index.ipynb"], 1: ["01_assign.ipynb"], 2: ["02_update step.ipynb"], 10: ["10_choose_k.ipynb"],
    }
    assert find_lesson(lessons, 10).name == "10_choose_k.ipynb"
    assert lesson_path(lessons, 1) == "/voila/render/01_assign.ipynb"
    assert lesson_path(lessons, 2) == "/voila/render/02_update%20step.ipynb"
    assert lesson_path(lessons, None) == "/"


def test_index_notebook_is_lesson_zero(tmp_path):
    (tmp_path / "index.ipynb").write_text("{}")
    (tmp_path / "01_a.ipynb").write_text("{}")
    assert find_lesson(tmp_path, 0).name == "index.ipynb"


def test_missing_lesson_number_names_the_available_ones(lessons):
    with pytest.raises(LessonNotFoundError, match=r"no lesson 3 .*1 \(01_assign.ipynb\)"):
        find_lesson(lessons, 3)
    with pytest.raises(LessonNotFoundError, match="no lesson 3"):
        build_voila_command(lessons, lesson=3)


def test_empty_lessons_folder(tmp_path):
    with pytest.raises(LessonNotFoundError, match="no lesson notebooks"):
        find_lesson(tmp_path, 1)


def test_ambiguous_lesson_number(lessons):
    (lessons / "1_other.ipynb").write_text("{}")
    with pytest.raises(LessonNotFoundError, match="ambiguous"):
        find_lesson(lessons, 1)


@pytest.mark.parametrize("number", [-1, "two", 1.5, True])
def test_bad_lesson_number(lessons, number):
    with pytest.raises(ValueError, match="lesson number"):
        find_lesson(lessons, number)


def test_checkout_lessons_folder():
    assert find_lessons_dir() == ROOT / "lessons"


# --- port, URL -------------------------------------------------------------------------


def test_busy_port_fails_clearly(busy_port):
    with pytest.raises(PortInUseError, match=f"port {busy_port} .* already in use"):
        check_port_free("127.0.0.1", busy_port)


def test_serve_refuses_a_busy_port_before_starting(lessons, busy_port, monkeypatch):
    def no_popen(*args, **kwargs):
        raise AssertionError("serve() started a process on a busy port")

    monkeypatch.setattr(subprocess, "Popen", no_popen)
    with pytest.raises(PortInUseError):
        serve(lessons, port=busy_port, open_browser=False)


def test_free_port_passes():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    check_port_free("127.0.0.1", port)


def test_unknown_host():
    with pytest.raises(ServeError, match="cannot listen"):
        check_port_free("no-such-host.invalid", 8866)


def test_server_url():
    assert server_url("127.0.0.1", 8866) == "http://127.0.0.1:8866/"
    assert server_url("::1", 8866, "/voila/render/01_a.ipynb", "t/k") == "http://[::1]:8866/voila/render/01_a.ipynb?token=t%2Fk"
    assert server_url("0.0.0.0", 80) == f"http://{socket.gethostname()}:80/"


# --- the CLI -----------------------------------------------------------------------------


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "kmeans_tutor.cli", *args], capture_output=True, text=True, timeout=60)


def test_console_script_serve_help():
    script = Path(sys.executable).with_name("kmeans-tutor")
    assert script.exists(), "console script missing: pip install -e ."
    result = subprocess.run([str(script), "serve", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for option in ("--port", "--host", "--lesson", "--no-browser", "--no-token"):
        assert option in result.stdout


def test_top_level_help_lists_serve():
    result = run_cli("--help")
    assert result.returncode == 0
    assert "serve" in result.stdout


def test_cli_busy_port(lessons, busy_port):
    result = run_cli("serve", "--no-browser", "--lessons-dir", str(lessons), "--port", str(busy_port))
    assert result.returncode == 1
    assert "already in use" in result.stderr


@pytest.mark.parametrize("args, message", [
    (["--port", "0"], "not a port number"),
    (["--port", "http"], "not a port number"),
    (["--lesson", "-1"], "not a lesson number"),
    (["--cull-idle-timeout", "0"], "not a positive number of seconds"),
])
def test_cli_usage_errors(args, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["serve", *args])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_cli_missing_lesson(lessons, capsys):
    assert cli.main(["serve", "--no-browser", "--lessons-dir", str(lessons), "--lesson", "7"]) == 1
    err = capsys.readouterr().err
    assert "kmeans-tutor serve: error: there is no lesson 7" in err


def test_cli_requires_a_command(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([])
    assert exit_info.value.code == 2
