"""One student's server under JupyterHub: jhsingle-native-proxy in front of the lesson server.

JupyterHub starts this (``c.Spawner.cmd``, see ``jupyterhub_config.py``) once per student.
It runs ``jhsingle-native-proxy``, which

* checks with the Hub (OAuth) that each request comes from the student who owns this
  server (another student gets 403), and
* starts and proxies the same Voilà lesson server ``kmeans-tutor serve`` runs
  (``python -m kmeans_tutor.server.voila_app`` with every refusal of
  :func:`kmeans_tutor.server.serve.build_voila_command`: course page at the root, no
  editor, file browser, terminal or code execution), bound to 127.0.0.1 on a free port.

Why not ``kmeans-tutor serve`` as jhsingle's command: the lesson server must know the
URL prefix the Hub gives this student (``/user/<name>/``) and serve under it, so this
script builds the Voilà command itself with ``--Voila.base_url`` = ``--Voila.server_url``
= the prefix. jhsingle-native-proxy 0.8 strips the prefix before proxying; the patch
below keeps it (``get_client_uri``; a second patch, ``check_origin``, is explained
there), so that the lesson server's own links and its
course-page redirect see the same paths the browser uses.

Environment (set by the Hub's spawner): ``JUPYTERHUB_SERVICE_PREFIX``,
``JUPYTERHUB_SERVICE_URL`` (the port to listen on), the OAuth variables.
``KMEANS_TUTOR_HUB_ACTIVITY`` (seconds, default 60): how often the proxy reports the
student's last activity to the Hub, which the idle culler reads.
``KMEANS_TUTOR_MAX_LESSONS`` (default 4): lessons this student may have open at once.
``KMEANS_TUTOR_ALLOW_HOST``: extra host names the lesson server answers to (comma-
separated; needed behind a site's own domain, e.g. on Kubernetes).
``KMEANS_TUTOR_HUB_LISTEN_ALL=1``: listen on every interface instead of 127.0.0.1 (a pod
on Kubernetes, reached by the proxy pod). ``KMEANS_TUTOR_LESSONS_DIR``: another lessons folder.
"""

from __future__ import annotations

import os
import socket
import sys


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _patch_keep_prefix() -> None:
    from jhsingle_native_proxy import proxyhandlers
    from jupyter_server.utils import url_path_join

    original = proxyhandlers.ProxyHandler.get_client_uri
    if getattr(original, "_kmeans_keeps_prefix", False):
        return

    def get_client_uri(self, protocol, host, port, proxied_path, get_args=None):
        return original(self, protocol, host, port, url_path_join(self.base_url, proxied_path), get_args)

    get_client_uri._kmeans_keeps_prefix = True
    proxyhandlers.ProxyHandler.get_client_uri = get_client_uri

    # jhsingle-native-proxy 0.8's websocket handshake calls check_origin() itself and
    # relies on tornado < 6.5 comparing Origin with Host there; tornado 6.5+ moved that
    # comparison out of check_origin (which now only consults trusted_origins), so every
    # kernel websocket got 403. Same-origin only, as before: a page on another site
    # still cannot open a student's kernel websocket.
    def check_origin(self, origin):
        from urllib.parse import urlsplit

        return urlsplit(origin).netloc.lower() == (self.request.headers.get("Host") or "").lower()

    proxyhandlers.ProxyHandler.check_origin = check_origin


def build_command(prefix: str, port: int) -> list[str]:
    """The lesson-server command line, as ``kmeans-tutor serve`` builds it, under ``prefix``."""
    from kmeans_tutor.server.predrawn import prepare_lessons
    from kmeans_tutor.server.serve import build_voila_command, find_lessons_dir

    lessons_dir = os.environ.get("KMEANS_TUTOR_LESSONS_DIR") or str(find_lessons_dir())
    # The lessons' fixed figures, drawn once per version and kept in the cache folder
    # (KMEANS_TUTOR_CACHE: a folder every student's server can read; servers that start
    # together wait for one copy). The Kubernetes image has it built in.
    lessons_dir = str(prepare_lessons(lessons_dir, out=sys.stderr))
    hosts = [h for h in os.environ.get("KMEANS_TUTOR_ALLOW_HOST", "").split(",") if h]
    cmd = build_voila_command(
        lessons_dir,
        port=port,
        host="127.0.0.1",
        allowed_hosts=hosts,
        # lessons one student may have open at once; 4 x ~160 MB fits the 1G limit
        max_kernels=int(os.environ.get("KMEANS_TUTOR_MAX_LESSONS", "4")),
        python=sys.executable,
        extra_args=[f"--Voila.base_url={prefix}", f"--Voila.server_url={prefix}"],
    )
    # The Hub's credentials stay with the proxy: the lesson server and its kernels get none.
    hide = ["-u", "JUPYTERHUB_API_TOKEN", "-u", "JPY_API_TOKEN", "-u", "JUPYTERHUB_CLIENT_ID"]
    cmd = ["env", *hide, *cmd]
    return [part.replace("{", "{{").replace("}", "}}") for part in cmd]  # jhsingle str.format()s it


def main(argv: list[str] | None = None) -> None:
    from jhsingle_native_proxy.main import run

    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/")
    if not prefix.endswith("/"):
        prefix += "/"
    _patch_keep_prefix()
    from kmeans_tutor.server.serve import voila_env

    os.environ.update(voila_env())  # the kmeans-tutor page template on JUPYTER_PATH
    destport = _free_port()
    activity = os.environ.get("KMEANS_TUTOR_HUB_ACTIVITY", "60")
    args = [
        "--ip=127.0.0.1" if not os.environ.get("KMEANS_TUTOR_HUB_LISTEN_ALL") else "--ip=0.0.0.0",
        f"--destport={destport}",
        "--authtype=oauth",
        "--progressive",  # Voilà streams a lesson page cell by cell
        f"--ready-check-path={prefix}",
        "--ready-timeout=120",
        f"--last-activity-interval={activity}",
        "--no-force-alive",  # report real activity only, or the idle culler never culls
        *(argv or []),
        "--",
        *build_command(prefix, destport),
    ]
    run(args=args, prog_name="kmeans-tutor-singleuser")


if __name__ == "__main__":
    main(sys.argv[1:])
