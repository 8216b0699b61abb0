"""The lesson server's command line and checks, without starting Voilà.

End-to-end serving is in tests/browser/test_server.py.
"""

from __future__ import annotations

import io
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from kmeans_tutor import cli
from kmeans_tutor.server import serve as serve_module
from kmeans_tutor.server.serve import (
    DEFAULT_CONNECT_GRACE,
    LessonNotFoundError,
    PortInUseError,
    ServeError,
    JUPYTER_DATA_DIR,
    PAGE_FIT_ENV,
    TEMPLATE,
    auto_preheat,
    build_voila_command,
    check_port_free,
    choose_preheat,
    default_max_kernels,
    describe_pools,
    find_lesson,
    find_lessons_dir,
    is_local_host,
    lesson_path,
    list_lessons,
    serve,
    server_url,
    voila_env,
)

ROOT = Path(__file__).resolve().parents[2]


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
    # Voilà with the lesson server's refusals (Host check, folder confinement, ...).
    assert cmd[:4] == [sys.executable, "-m", "kmeans_tutor.server.voila_app", str(lessons.resolve())]
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
        "--template=kmeans-tutor",
        "--VoilaConfiguration.multi_kernel_manager_class=kmeans_tutor.server.lesson_kernels.LessonKernelManager",
        "--Voila.kernel_websocket_connection_class=kmeans_tutor.server.lesson_kernels.LessonWebsocketConnection",
        "--LessonKernelManager.max_kernels=0",
        "--LessonKernelManager.min_available_mb=400",
        "--LessonKernelManager.connect_grace=120",
    ]:
        assert flag in cmd
    assert not [arg for arg in cmd if "allowed_hosts" in arg]
    assert not [arg for arg in cmd if "preheat" in arg or "pool_size" in arg]
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


def test_connect_grace_and_allowed_hosts_reach_the_command(lessons):
    cmd = build_voila_command(lessons, connect_grace=15, allowed_hosts=["kmeans.school.lan", "10.0.0.9"])
    assert _option(cmd, "LessonKernelManager.connect_grace") == "15"
    assert [arg for arg in cmd if arg.startswith("--LessonVoila.allowed_hosts=")] == [
        "--LessonVoila.allowed_hosts=kmeans.school.lan", "--LessonVoila.allowed_hosts=10.0.0.9"]
    assert _option(build_voila_command(lessons, connect_grace=0), "LessonKernelManager.connect_grace") == "0"


@pytest.mark.parametrize("kwargs, message", [
    ({"connect_grace": -1}, "connect_grace"), ({"connect_grace": 2.5}, "connect_grace"),
    ({"allowed_hosts": "kmeans.lan"}, "allowed_hosts must be a list"),
    ({"allowed_hosts": ["a b"]}, "allowed_hosts must be an IP address or a host name"),
    ({"allowed_hosts": [""]}, "allowed_hosts must not contain an empty name"),
])
def test_bad_connect_grace_or_allowed_hosts(lessons, kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_voila_command(lessons, **kwargs)


def test_missing_lessons_folder(tmp_path):
    with pytest.raises(ServeError, match="does not exist"):
        build_voila_command(tmp_path / "nope")


# --- lessons ---------------------------------------------------------------------------


def test_lessons_are_found_by_number(lessons):
    assert {n: [p.name for p in ps] for n, ps in list_lessons(lessons).items()} == {
        0: ["00_index.ipynb"], 1: ["01_assign.ipynb"], 2: ["02_update step.ipynb"], 10: ["10_choose_k.ipynb"],
    }
    assert find_lesson(lessons, 10).name == "10_choose_k.ipynb"
    # Short addresses: no notebook file name in what a student types or sees.
    assert lesson_path(lessons, 1) == "/lesson/1"
    assert lesson_path(lessons, 2) == "/lesson/2"
    assert lesson_path(lessons, 10) == "/lesson/10"
    assert lesson_path(lessons, 0) == lesson_path(lessons, None) == "/"
    with pytest.raises(LessonNotFoundError):
        lesson_path(lessons, 3)


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


def test_a_lesson_that_links_outside_the_folder_is_refused(lessons, tmp_path_factory):
    # The server refuses to serve it, so asking for it (e.g. to preheat it) fails up front.
    outside = tmp_path_factory.mktemp("elsewhere") / "private.ipynb"
    outside.write_text("{}")
    (lessons / "03_linked.ipynb").symlink_to(outside)
    with pytest.raises(LessonNotFoundError, match=r"lesson 3 \(03_linked.ipynb\) is a link to .*outside"):
        find_lesson(lessons, 3)
    # A link that stays inside the folder is a lesson like any other.
    (lessons / "04_again.ipynb").symlink_to(lessons / "01_assign.ipynb")
    assert find_lesson(lessons, 4).name == "04_again.ipynb"


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


# --- capacity: cap, memory floor, preheated kernels -------------------------------------


def _option(cmd, name):
    """The value of ``--name=value`` in ``cmd`` (exactly one)."""
    values = [arg.split("=", 1)[1] for arg in cmd if arg.startswith(f"--{name}=")]
    assert len(values) == 1, (name, cmd)
    return values[0]


def test_cap_and_memory_floor_reach_the_command(lessons):
    cmd = build_voila_command(lessons, max_kernels=25, min_available_mb=0)
    assert _option(cmd, "LessonKernelManager.max_kernels") == "25"
    assert _option(cmd, "LessonKernelManager.min_available_mb") == "0"


def _pools(cmd):
    """The preheated kernels per notebook that ``cmd`` asks Voilà for (``kernel_pools_config``)."""
    return json.loads(_option(cmd, "VoilaKernelManager.kernel_pools_config"))


def test_preheat_pools_every_lesson(lessons):
    cmd = build_voila_command(lessons, preheat=2, fill_delay=30)
    assert _option(cmd, "preheat_kernel") == "True"
    assert _option(cmd, "VoilaKernelManager.fill_delay") == "30"
    # A pool of 2 for each lesson; none for the index, a non-lesson notebook or anything else.
    assert _pools(cmd) == {"default": {"pool_size": 0}, "01_assign.ipynb": {"pool_size": 2},
                           "02_update step.ipynb": {"pool_size": 2}, "10_choose_k.ipynb": {"pool_size": 2}}
    assert _option(cmd, "pool_size") == "0"
    denied = re.compile(_option(cmd, "VoilaKernelManager.preheat_denylist"))
    # Voilà filters absolute paths at start-up and relative names later; a pattern
    # that matches a notebook denies it a pool.
    folder = str(lessons.resolve())
    for name in ("01_assign.ipynb", "02_update step.ipynb", os.path.join(folder, "10_choose_k.ipynb")):
        assert not denied.match(name), name
    for name in ("00_index.ipynb", os.path.join(folder, "notes.ipynb"), "x02_update step.ipynb",
                 os.path.join(folder, "02_update step.ipynb.bak"),
                 # a namesake in a subfolder would get a pool of its own, holding slots for good
                 os.path.join(folder, "old", "02_update step.ipynb"), "old/01_assign.ipynb"):
        assert denied.match(name), name


def test_preheat_for_the_first_lesson_and_fewer_for_the_others(lessons):
    cmd = build_voila_command(lessons, lesson=2, preheat=3, preheat_others=1)
    assert {name: pool["pool_size"] for name, pool in _pools(cmd).items()} == {
        "default": 0, "01_assign.ipynb": 1, "02_update step.ipynb": 3, "10_choose_k.ipynb": 1}


def test_preheat_only_the_chosen_lesson(lessons):
    cmd = build_voila_command(lessons, lesson=2, preheat=3, preheat_others=0)
    assert {name: pool["pool_size"] for name, pool in _pools(cmd).items()} == {"default": 0, "02_update step.ipynb": 3}
    denied = re.compile(_option(cmd, "VoilaKernelManager.preheat_denylist"))
    assert not denied.match("02_update step.ipynb")
    assert denied.match("01_assign.ipynb") and denied.match("10_choose_k.ipynb")


def test_progressive_rendering_only_when_nothing_is_preheated(lessons):
    progressive = "--VoilaConfiguration.progressive_rendering=True"
    assert progressive in build_voila_command(lessons)
    assert progressive in build_voila_command(lessons, preheat={"01_assign.ipynb": 0})
    assert progressive in build_voila_command(lessons, lesson=1, preheat=0, preheat_others=0)
    # Voilà refuses to start with both.
    for cmd in (build_voila_command(lessons, preheat=1), build_voila_command(lessons, lesson=1, preheat=1, preheat_others=0),
                build_voila_command(lessons, preheat={"10_choose_k.ipynb": 1})):
        assert not [arg for arg in cmd if arg.startswith("--VoilaConfiguration.progressive_rendering")]
        assert _option(cmd, "preheat_kernel") == "True"


def test_rendering_chosen_in_extra_args_is_left_alone(lessons):
    # Voilà refuses an option given twice, and preheating together with progressive rendering.
    for extra in (["--preheat_kernel=True", "--pool_size=1"], ["--VoilaConfiguration.progressive_rendering=False"]):
        cmd = build_voila_command(lessons, extra_args=extra)
        assert [arg for arg in cmd if arg.startswith("--VoilaConfiguration.progressive_rendering")] == \
            [arg for arg in extra if arg.startswith("--VoilaConfiguration.progressive_rendering")]


def test_preheat_pools_from_a_mapping(lessons):
    cmd = build_voila_command(lessons, preheat={"01_assign.ipynb": 4, "10_choose_k.ipynb": 1})
    assert {name: pool["pool_size"] for name, pool in _pools(cmd).items()} == {
        "default": 0, "01_assign.ipynb": 4, "10_choose_k.ipynb": 1}
    with pytest.raises(ValueError, match=r"preheating 4 kernels for lesson 1, 1 kernel for lesson 10 needs 5 "
                                         r"kernels, more than max_kernels \(3\)"):
        build_voila_command(lessons, preheat={"01_assign.ipynb": 4, "10_choose_k.ipynb": 1}, max_kernels=3)
    with pytest.raises(ValueError, match="cannot preheat 'notes.ipynb': it is not a lesson"):
        build_voila_command(lessons, preheat={"notes.ipynb": 1})
    with pytest.raises(ValueError, match="preheat for 01_assign.ipynb must be a whole number"):
        build_voila_command(lessons, preheat={"01_assign.ipynb": -1})


def test_preheat_cannot_exceed_the_cap(lessons):
    with pytest.raises(ValueError, match=r"preheating 2 kernels for each of the 3 lessons needs 6 kernels, "
                                         r"more than max_kernels \(4\)"):
        build_voila_command(lessons, preheat=2, max_kernels=4)
    with pytest.raises(ValueError, match=r"preheating 5 kernels for lesson 1 needs 5 kernels"):
        build_voila_command(lessons, lesson=1, preheat=5, preheat_others=0, max_kernels=4)
    build_voila_command(lessons, lesson=1, preheat=4, preheat_others=0, max_kernels=4)


def test_preheat_for_a_missing_lesson(lessons):
    with pytest.raises(LessonNotFoundError, match="there is no lesson 7"):
        build_voila_command(lessons, lesson=7, preheat=2)


# --- the preheat budget -------------------------------------------------------------------


@pytest.mark.parametrize("n_lessons, available, expected", [
    (8, 23 * 1024, 2),   # plenty: the most per lesson
    (8, 8 * 1024, 1),    # (8192 - 1024) / 4 = 1792 MB: 8 kernels of 200 MB
    (8, 4 * 1024, 0),    # 768 MB: not one per lesson
    (1, 2000, 1),        # 244 MB: one kernel for one lesson
    (8, 500, 0),         # less than the reserve
    (0, 23 * 1024, 0),   # no lessons
])
def test_auto_preheat_from_memory(n_lessons, available, expected):
    assert auto_preheat(n_lessons, available) == expected


def test_auto_preheat_measures_this_machine(monkeypatch):
    import collections

    import psutil

    memory = collections.namedtuple("svmem", "available")
    monkeypatch.setattr(psutil, "virtual_memory", lambda: memory(available=8 * 2**30))
    assert auto_preheat(8) == 1


def test_choose_preheat(lessons):
    plenty, little = 23 * 1024, 2 * 1024
    sizes = lambda pools: sorted(pools.values())  # noqa: E731
    # Default: none for this machine only, up to 2 per lesson for a class on the network.
    assert sizes(choose_preheat(lessons, "127.0.0.1", None, available_mb=plenty)) == [0, 0, 0]
    assert sizes(choose_preheat(lessons, "0.0.0.0", None, available_mb=plenty)) == [2, 2, 2]
    assert sizes(choose_preheat(lessons, "0.0.0.0", None, lesson=2, available_mb=plenty)) == [2, 2, 2]
    assert sizes(choose_preheat(lessons, "0.0.0.0", None, available_mb=little)) == [0, 0, 0]
    # --preheat P: P for each lesson, wherever it listens.
    assert sizes(choose_preheat(lessons, "127.0.0.1", 3, available_mb=little)) == [3, 3, 3]
    assert sizes(choose_preheat(lessons, "0.0.0.0", 0, lesson=2, available_mb=plenty)) == [0, 0, 0]
    # --lesson N --preheat P: P for lesson N; on the network the others get what is left, at most P.
    assert choose_preheat(lessons, "0.0.0.0", 30, lesson=2, available_mb=plenty) == {
        "01_assign.ipynb": 2, "02_update step.ipynb": 30, "10_choose_k.ipynb": 2}
    assert choose_preheat(lessons, "0.0.0.0", 1, lesson=2, available_mb=plenty) == {
        "01_assign.ipynb": 1, "02_update step.ipynb": 1, "10_choose_k.ipynb": 1}
    # 30 kernels leave (23552 - 6000 - 1024) / 4 = 4132 MB: 10 per other lesson, at most 2.
    # With 8 GB, 30 kernels leave nothing for the others.
    assert choose_preheat(lessons, "0.0.0.0", 30, lesson=2, available_mb=8 * 1024)["01_assign.ipynb"] == 0
    assert choose_preheat(lessons, "127.0.0.1", 30, lesson=2, available_mb=plenty) == {
        "01_assign.ipynb": 0, "02_update step.ipynb": 30, "10_choose_k.ipynb": 0}


def test_describe_pools():
    assert describe_pools({"01_a.ipynb": 2, "02_b.ipynb": 2}) == "2 kernels for each of the 2 lessons"
    assert describe_pools({"01_a.ipynb": 1}) == "1 kernel for the one lesson"
    # Sizes given lesson by lesson, or with a lesson that has none of its own.
    assert describe_pools({"01_a.ipynb": 4, "02_b.ipynb": 0, "10_c.ipynb": 1}) == \
        "4 kernels for lesson 1, 1 kernel for lesson 10"
    assert describe_pools({"01_a.ipynb": 4, "10_c.ipynb": 1}, lesson=2) == "4 kernels for lesson 1, 1 kernel for lesson 10"
    assert describe_pools({"01_a.ipynb": 4, "02_b.ipynb": 1, "10_c.ipynb": 2}, lesson=1) == \
        "4 kernels for lesson 1 and 1 for lesson 2, 2 for lesson 10"
    assert describe_pools({"01_a.ipynb": 2, "04_b.ipynb": 30, "05_c.ipynb": 2}, lesson=4) == \
        "30 kernels for lesson 4 and 2 for each of the other 2 lessons"
    assert describe_pools({"01_a.ipynb": 0, "04_b.ipynb": 1}, lesson=4) == "1 kernel for lesson 4"
    assert describe_pools({"01_a.ipynb": 0}) == "no kernels"


@pytest.mark.parametrize("name, value", [
    ("max_kernels", -1), ("max_kernels", 2.5), ("max_kernels", True),
    ("min_available_mb", -5), ("preheat", "3"), ("fill_delay", -1), ("fill_delay", True),
])
def test_bad_capacity_values(lessons, name, value):
    kwargs = {name: value, "lesson": 1}
    with pytest.raises(ValueError, match=name):
        build_voila_command(lessons, **kwargs)


@pytest.mark.parametrize("available, expected", [(100, 4), (1024, 4), (8 * 1024, 35), (24 * 1024, 117)])
def test_default_max_kernels_from_memory(available, expected):
    assert default_max_kernels(available) == expected


def test_default_max_kernels_measures_this_machine(monkeypatch):
    import collections

    import psutil

    memory = collections.namedtuple("svmem", "available")
    monkeypatch.setattr(psutil, "virtual_memory", lambda: memory(available=6 * 2**30))
    assert default_max_kernels() == (6 * 1024 - 1024) // 200


def test_voila_env_puts_the_template_first_and_handles_the_token():
    env = voila_env("tok", base={"JUPYTER_PATH": "/elsewhere", "JUPYTER_TOKEN_FILE": "/f", "KEEP": "1"})
    assert env["JUPYTER_PATH"].split(os.pathsep) == [str(JUPYTER_DATA_DIR), "/elsewhere"]
    assert env["JUPYTER_TOKEN"] == "tok" and "JUPYTER_TOKEN_FILE" not in env and env["KEEP"] == "1"
    assert "JUPYTER_TOKEN" not in voila_env(None, base={"JUPYTER_TOKEN": "old"})


def test_voila_env_tells_the_kernels_that_their_pages_report_widths():
    from kmeans_tutor.widgets import figure

    assert PAGE_FIT_ENV == figure.PAGE_FIT_ENV  # the name the apps read
    assert voila_env(None, base={})[PAGE_FIT_ENV] == "1"
    assert voila_env(None, base={PAGE_FIT_ENV: "0"})[PAGE_FIT_ENV] == "1"


def test_the_page_template_ships_with_the_package():
    folder = JUPYTER_DATA_DIR / "voila" / "templates" / TEMPLATE
    assert json.loads((folder / "conf.json").read_text())["base_template"] == "lab"
    index = (folder / "index.html.j2").read_text()
    assert "extends 'voila/templates/lab/index.html.j2'" in index
    assert "http" not in index, "the page template links an outside URL"
    assert "{{ message }}" in (folder / "503.html").read_text()


def test_cli_capacity_options_reach_serve(lessons, monkeypatch):
    seen = {}

    def fake_serve(lessons_dir, **kwargs):
        seen.update(kwargs)
        return 0

    monkeypatch.setattr(cli, "serve", fake_serve)
    assert cli.main(["serve", "--no-browser", "--lessons-dir", str(lessons), "--lesson", "1",
                     "--preheat", "3", "--max-kernels", "12", "--min-available-mb", "0",
                     "--connect-grace", "30", "--allow-host", "kmeans.lan", "--allow-host", "10.0.0.9"]) == 0
    assert (seen["preheat"], seen["max_kernels"], seen["min_available_mb"]) == (3, 12, 0)
    assert (seen["connect_grace"], seen["allowed_hosts"]) == (30, ["kmeans.lan", "10.0.0.9"])
    seen.clear()
    assert cli.main(["serve", "--no-browser", "--lessons-dir", str(lessons)]) == 0
    # No --preheat: serve() chooses (choose_preheat).
    assert (seen["preheat"], seen["max_kernels"], seen["min_available_mb"]) == (None, None, 400)
    assert (seen["connect_grace"], seen["allowed_hosts"]) == (DEFAULT_CONNECT_GRACE, [])


def test_cli_preheat_without_lesson_reaches_serve(lessons, monkeypatch):
    seen = {}
    monkeypatch.setattr(cli, "serve", lambda lessons_dir, **kwargs: seen.update(kwargs) or 0)
    assert cli.main(["serve", "--no-browser", "--lessons-dir", str(lessons), "--preheat", "2"]) == 0
    assert (seen["preheat"], seen["lesson"]) == (2, None)


@pytest.mark.parametrize("args, message", [
    (["--max-kernels", "-1"], "-1 is not a whole number (0 or more)"),
    (["--connect-grace", "-5"], "-5 is not a whole number (0 or more)"),
    (["--preheat", "many"], "'many' is not a whole number (0 or more)"),
])
def test_cli_capacity_usage_errors(args, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["serve", *args])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


# --- what serve() says at start-up ----------------------------------------------------------


class FakeVoila:
    """A Voilà process that has started and then stops at once."""

    commands: list = []  # every command started, newest last

    def __init__(self, cmd, env=None):
        self.cmd = cmd
        FakeVoila.commands.append(cmd)

    def poll(self):
        return None

    def wait(self, timeout=None):
        return 0

    def terminate(self):
        pass


@pytest.fixture
def started(monkeypatch):
    """Run serve() against :class:`FakeVoila`; returns what it printed."""
    monkeypatch.setattr(subprocess, "Popen", FakeVoila)
    monkeypatch.setattr(serve_module, "_wait_for_port", lambda *args: True)
    # The bytecode is in place (tests/server/test_bytecode.py compiles it for real).
    monkeypatch.setattr(serve_module, "compile_for_kernels", lambda: None)

    def start(lessons, **kwargs):
        out = io.StringIO()
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        kwargs.setdefault("max_kernels", 4)
        assert serve(lessons, port=port, open_browser=False, out=out, **kwargs) == 0
        return out.getvalue()

    return start


def test_connect_grace_is_mentioned_only_when_changed(lessons, started):
    assert "--connect-grace" not in started(lessons)
    assert "has not connected 20 s after its last activity is shut down (--connect-grace)" in \
        started(lessons, connect_grace=20)
    assert "kept until culled (--connect-grace 0)" in started(lessons, connect_grace=0)


@pytest.fixture
def memory(monkeypatch):
    """Make psutil report ``available`` GB of available memory."""
    import collections

    import psutil

    def set_available(gb: float):
        svmem = collections.namedtuple("svmem", "available")
        monkeypatch.setattr(psutil, "virtual_memory", lambda: svmem(available=int(gb * 2**30)))

    return set_available


def test_startup_message_for_this_machine_only(lessons, started, memory):
    memory(23)
    said = started(lessons)
    assert "No kernels preheated (a server for this computer only): a lesson starts its kernel when " \
           "opened, shows its text first, then each picture as it is ready. --preheat P keeps P kernels " \
           "ready for each lesson." in said
    assert "--VoilaConfiguration.progressive_rendering=True" in FakeVoila.commands[-1]
    assert "No kernels preheated (--preheat 0)" in started(lessons, preheat=0)


def test_startup_message_for_a_class(lessons, started, memory):
    memory(23)
    said = started(lessons, host="0.0.0.0", max_kernels=None)
    assert "Preheating 2 kernels for each of the 3 lessons (6 kernels, about 1.2 GB of 23.0 GB " \
           "available): the first students to open a lesson get it at once." in said
    assert "--preheat 0 turns this off." in said
    cmd = FakeVoila.commands[-1]
    assert _option(cmd, "preheat_kernel") == "True"
    assert {name: pool["pool_size"] for name, pool in _pools(cmd).items()} == {
        "default": 0, "01_assign.ipynb": 2, "02_update step.ipynb": 2, "10_choose_k.ipynb": 2}
    assert not [arg for arg in cmd if arg.startswith("--VoilaConfiguration.progressive_rendering")]
    # The cap leaves room for the students besides the preheated kernels.
    assert _option(cmd, "LessonKernelManager.max_kernels") == str(default_max_kernels(23 * 1024))


def test_startup_message_for_the_first_lesson(lessons, started, memory):
    memory(23)
    said = started(lessons, host="0.0.0.0", lesson=2, preheat=30, max_kernels=None)
    assert "Preheating 30 kernels for lesson 2 and 2 for each of the other 2 lessons (34 kernels, " \
           "about 6.6 GB of 23.0 GB available)" in said
    said = started(lessons, lesson=2, preheat=3)
    assert "Preheating 3 kernels for lesson 2 (3 kernels, about 0.6 GB of 23.0 GB available)" in said
    said = started(lessons, lesson=2, preheat=1)
    assert "Preheating 1 kernel for lesson 2 (1 kernel, about 0.2 GB of 23.0 GB available): the first " \
           "students to open a lesson get it at once. Each runs its lesson now, a few seconds of CPU. " \
           "--preheat 0 turns this off." in said


def test_startup_message_when_memory_is_short(lessons, started, memory):
    memory(2)
    said = started(lessons, host="0.0.0.0", max_kernels=None)
    assert "No kernels preheated (too little memory: 2.0 GB available)" in said
    assert "--VoilaConfiguration.progressive_rendering=True" in FakeVoila.commands[-1]


def test_preheat_beyond_the_cap_fails_before_starting(lessons, started, memory):
    memory(23)
    before = len(FakeVoila.commands)
    with pytest.raises(ValueError, match="needs 6 kernels, more than max_kernels"):
        started(lessons, preheat=2, max_kernels=4)
    assert len(FakeVoila.commands) == before


# --- kernels as python -OO ----------------------------------------------------------------


def test_kernels_run_as_python_OO_when_their_bytecode_is_in_place(lessons, started):
    said = started(lessons)
    assert "Lesson kernels run as python -OO (no docstrings or asserts: about 10 MB less each)." in said
    assert _option(FakeVoila.commands[-1], "LessonKernelManager.kernel_optimize") == "2"


def test_kernels_run_plain_when_their_bytecode_cannot_be_written(lessons, started, monkeypatch):
    problem = "could not write the optimised bytecode of /usr/lib/python3/dist-packages/numpy (read-only)"
    monkeypatch.setattr(serve_module, "compile_for_kernels", lambda: problem)
    said = started(lessons)
    assert f"Lesson kernels run as plain python: {problem}." in said
    assert not [arg for arg in FakeVoila.commands[-1] if "kernel_optimize" in arg]


def test_no_optimize_neither_compiles_nor_optimises(lessons, started, monkeypatch):
    calls = []
    monkeypatch.setattr(serve_module, "compile_for_kernels", lambda: calls.append(1))
    said = started(lessons, optimize_kernels=False)
    assert calls == [] and "Lesson kernels run as" not in said
    assert not [arg for arg in FakeVoila.commands[-1] if "kernel_optimize" in arg]


def test_build_voila_command_optimises_kernels_only_when_asked(lessons):
    assert not [arg for arg in build_voila_command(lessons) if "kernel_optimize" in arg]
    assert _option(build_voila_command(lessons, optimize_kernels=True),
                   "LessonKernelManager.kernel_optimize") == "2"


@pytest.mark.parametrize("args, expected", [([], True), (["--no-optimize"], False)])
def test_cli_no_optimize_reaches_serve(lessons, monkeypatch, args, expected):
    seen = {}
    monkeypatch.setattr(cli, "serve", lambda *a, **kw: seen.update(kw) or 0)
    assert cli.main(["serve", "--no-browser", "--lessons-dir", str(lessons), *args]) == 0
    assert seen["optimize_kernels"] is expected


def test_kernels_hold_their_collector_unless_told_not_to(lessons, started):
    started(lessons)
    assert not [arg for arg in FakeVoila.commands[-1] if "lean_start" in arg]  # the default: lean
    started(lessons, lean_start=False)
    assert _option(FakeVoila.commands[-1], "LessonKernelManager.lean_start") == "False"


@pytest.mark.parametrize("args, expected", [([], True), (["--no-lean-start"], False)])
def test_cli_no_lean_start_reaches_serve(lessons, monkeypatch, args, expected):
    seen = {}
    monkeypatch.setattr(cli, "serve", lambda *a, **kw: seen.update(kw) or 0)
    assert cli.main(["serve", "--no-browser", "--lessons-dir", str(lessons), *args]) == 0
    assert seen["lean_start"] is expected


def test_kernels_are_forked_from_a_template_unless_told_not_to_and_the_server_says_so(lessons, started):
    said = started(lessons)
    assert not [arg for arg in FakeVoila.commands[-1] if "fork_start" in arg]  # the default: forked
    assert "Lesson kernels are forked from a template" in said and "--no-fork-start" in said
    for off in ({"fork_start": False}, {"lean_start": False}):
        said = started(lessons, **off)
        assert "Lesson kernels are forked" not in said
    assert _option(FakeVoila.commands[-2], "LessonKernelManager.fork_start") == "False"


@pytest.mark.parametrize("args, expected", [([], True), (["--no-fork-start"], False)])
def test_cli_no_fork_start_reaches_serve(lessons, monkeypatch, args, expected):
    seen = {}
    monkeypatch.setattr(cli, "serve", lambda *a, **kw: seen.update(kw) or 0)
    assert cli.main(["serve", "--no-browser", "--lessons-dir", str(lessons), *args]) == 0
    assert seen["fork_start"] is expected


# --- lessons with their fixed figures drawn in advance ------------------------------------


def test_serve_hands_voila_the_prepared_copy_and_says_so(lessons, started, tmp_path_factory, monkeypatch):
    import shutil

    from kmeans_tutor.server import predrawn

    copy = tmp_path_factory.mktemp("prepared") / "lessons"
    seen = {}

    def fake_prepare(folder, **kwargs):
        seen["folder"], seen["timeout"] = Path(folder), kwargs["timeout"]
        shutil.copytree(folder, copy, dirs_exist_ok=True)
        return copy

    monkeypatch.setattr(predrawn, "prepare_lessons", fake_prepare)
    printed = started(lessons, cell_timeout=45)
    assert seen == {"folder": lessons, "timeout": 45}
    assert str(copy.resolve()) in FakeVoila.commands[-1]
    assert f"Starting Voilà on {lessons.resolve()} (figures drawn in advance: {copy})" in printed
    printed = started(lessons, predraw=False)
    assert str(lessons.resolve()) in FakeVoila.commands[-1]
    assert "drawn in advance" not in printed


def test_serve_checks_its_options_before_drawing_anything(lessons, busy_port, monkeypatch):
    from kmeans_tutor.server import predrawn

    monkeypatch.setattr(predrawn, "prepare_lessons", lambda *a, **k: pytest.fail("drew before checking"))
    with pytest.raises(PortInUseError):
        serve(lessons, port=busy_port, open_browser=False, out=io.StringIO())
    with pytest.raises(LessonNotFoundError):
        serve(lessons, lesson=7, open_browser=False, out=io.StringIO())


def test_cli_no_predraw_reaches_serve(lessons, monkeypatch):
    seen = {}
    monkeypatch.setattr(cli, "serve", lambda lessons_dir, **kwargs: seen.update(kwargs) or 0)
    assert cli.main(["serve", "--no-browser", "--lessons-dir", str(lessons)]) == 0
    assert seen["predraw"] is True
    assert cli.main(["serve", "--no-browser", "--lessons-dir", str(lessons), "--no-predraw"]) == 0
    assert seen["predraw"] is False
