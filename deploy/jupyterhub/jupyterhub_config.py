"""JupyterHub for the K-means lessons: every student gets the lessons, and only the lessons.

Start it with ``make hub`` (try-out on 127.0.0.1) or
``jupyterhub -f deploy/jupyterhub/jupyterhub_config.py`` from the checkout.

What each piece is
------------------
* Proxy: ``configurable-http-proxy`` (npm), started by the Hub. ``make hub`` installs it
  under ``.venv/hub/node``; set ``KMEANS_TUTOR_CHP`` to use another one.
* Each student's server: ``deploy/jupyterhub/kmeans_singleuser.py`` =
  ``jhsingle-native-proxy`` (checks with the Hub that the request is from the student who
  owns the server) in front of the same Voilà lesson server ``kmeans-tutor serve`` runs:
  the student lands on the course page; there is no notebook editor, file browser or
  terminal, and no way to run code (execute requests over the kernel websocket are refused).
* Spawner: ``SimpleLocalProcessSpawner``: one process per student on this machine, all as
  the user running the Hub, no system accounts needed. Good for one machine; on Kubernetes
  see ``deploy/kubernetes/``. For one OS user per student use ``LocalProcessSpawner``
  (needs real system users and root).
* Idle culler: ``jupyterhub-idle-culler`` as a Hub service (below; ``idle_culler.py`` only
  makes it exit on SIGINT, so that stopping the Hub does not hang).
* Authenticator: ``DummyAuthenticator`` with one shared throw-away password, for trying
  it out only. A site plugs in its own at ``c.JupyterHub.authenticator_class`` (e.g.
  ``oauthenticator`` for Google/GitHub/Azure AD, ``ldapauthenticator``, the school's SSO
  via ``oauthenticator.generic``); nothing else here depends on which.

Sizing (our own measurements, README "Larger classes")
------------------------------------------------------
* memory: one open lesson ~160 MB RSS (lesson 4 after stepping, benchmarks/load_classroom.py);
  the student's own jhsingle proxy + Voilà server come on top (see README for the figure
  measured through the Hub). The limit below,
  ``KMEANS_TUTOR_MEM_LIMIT`` (default 1G), allows about 4 lessons open at once.
* CPU: a lesson start costs ~3 s of one core; then stepping is light.
  ``KMEANS_TUTOR_CPU_LIMIT`` (default 1 core) per student.
  SimpleLocalProcessSpawner does NOT enforce ``mem_limit``/``cpu_limit`` (it only passes
  them on as MEM_LIMIT/CPU_LIMIT); KubeSpawner and systemdspawner do. On one machine the
  lesson server's own cap still applies: it starts no lesson while the machine is low on
  memory (``min_available_mb``).

Environment knobs (all optional)
--------------------------------
``KMEANS_TUTOR_HUB_IP``/``KMEANS_TUTOR_HUB_PORT`` (127.0.0.1:8000), ``KMEANS_TUTOR_HUB_API_PORT``
(8081), ``KMEANS_TUTOR_HUB_DIR`` (state: sqlite database, cookie secret; default ``.venv/hub/state`` in
the checkout), ``KMEANS_TUTOR_HUB_PASSWORD`` (the DummyAuthenticator password; ``make hub``
generates and prints one), ``KMEANS_TUTOR_CULL_TIMEOUT`` (600 s), ``KMEANS_TUTOR_CULL_EVERY``
(60 s), ``KMEANS_TUTOR_HUB_ACTIVITY`` (60 s between activity reports from a student's server),
``KMEANS_TUTOR_HUB_LAST_ACTIVITY`` (300 s between the Hub's polls of the proxy's activity),
``KMEANS_TUTOR_MAX_LESSONS`` (4 lessons open at once per student), ``KMEANS_TUTOR_TABLES``
(the tables the apps open on and the first pictures of their figures, kept once for the class;
default ``tables`` in the state folder).
"""

import os
import secrets
import sys
from pathlib import Path

c = get_config()  # noqa: F821 (provided by JupyterHub)

HERE = Path(__file__).resolve().parent
CHECKOUT = HERE.parents[1]
env = os.environ.get

state = Path(env("KMEANS_TUTOR_HUB_DIR", str(CHECKOUT / ".venv" / "hub" / "state")))
state.mkdir(parents=True, exist_ok=True)

# --- where the Hub listens --------------------------------------------------------------
hub_ip = env("KMEANS_TUTOR_HUB_IP", "127.0.0.1")
c.JupyterHub.bind_url = f"http://{hub_ip}:{env('KMEANS_TUTOR_HUB_PORT', '8000')}/"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(env("KMEANS_TUTOR_HUB_API_PORT", "8081"))
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(state / "jupyterhub.pid")

# --- proxy: configurable-http-proxy from npm ----------------------------------------------
chp = env("KMEANS_TUTOR_CHP") or str(CHECKOUT / ".venv" / "hub" / "node" / "node_modules" / ".bin" / "configurable-http-proxy")
c.ConfigurableHTTPProxy.command = [chp]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{env('KMEANS_TUTOR_PROXY_API_PORT', '8001')}"
c.ConfigurableHTTPProxy.pid_file = str(state / "proxy.pid")
c.ConfigurableHTTPProxy.should_start = True

# --- authenticator: the site's choice ---------------------------------------------------
# Try-out: any user name, one shared throw-away password. Replace these lines with the
# site's authenticator (see the module docstring).
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = env("KMEANS_TUTOR_HUB_PASSWORD") or secrets.token_urlsafe(12)
c.Authenticator.allow_all = True  # every user the authenticator accepts is a student
c.Authenticator.admin_users = set(filter(None, env("KMEANS_TUTOR_HUB_ADMINS", "").split(",")))

# --- each student's server: the lessons only ----------------------------------------------
c.JupyterHub.spawner_class = "jupyterhub.spawner.SimpleLocalProcessSpawner"
c.Spawner.cmd = [sys.executable, str(HERE / "kmeans_singleuser.py")]
c.Spawner.args = []
c.Spawner.default_url = "/"  # the course page
c.Spawner.notebook_dir = str(CHECKOUT)
c.SimpleLocalProcessSpawner.home_dir_template = str(state / "students" / "{username}")
c.Spawner.ip = "127.0.0.1"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.Spawner.mem_limit = env("KMEANS_TUTOR_MEM_LIMIT", "1G")
c.Spawner.cpu_limit = float(env("KMEANS_TUTOR_CPU_LIMIT", "1"))
c.Spawner.environment = {
    "KMEANS_TUTOR_HUB_ACTIVITY": env("KMEANS_TUTOR_HUB_ACTIVITY", "60"),
    "KMEANS_TUTOR_MAX_LESSONS": env("KMEANS_TUTOR_MAX_LESSONS", "4"),
    # One copy of the lessons with their fixed figures drawn, shared by every student's
    # server (the first one to start makes it; the others wait for it).
    "KMEANS_TUTOR_CACHE": env("KMEANS_TUTOR_CACHE", str(state / "lessons-cache")),
    # Tables the apps open on (kmeans_tutor.data.kept) and the first pictures of their
    # figures (kmeans_tutor.widgets.kept_pictures), kept once for the whole class instead of
    # once in every student's home.
    "KMEANS_TUTOR_TABLES": env("KMEANS_TUTOR_TABLES", str(state / "tables")),
    "PYTHONPATH": os.pathsep.join(filter(None, [str(CHECKOUT), env("PYTHONPATH")])),
}
# Students land on their lessons, not on the Hub's home page.
c.JupyterHub.default_url = "/hub/spawn"
c.JupyterHub.implicit_spawn_seconds = 0.01
c.JupyterHub.allow_named_servers = False
c.JupyterHub.concurrent_spawn_limit = int(env("KMEANS_TUTOR_SPAWN_LIMIT", "20"))

# --- idle culler ---------------------------------------------------------------------------
# A student's server is idle when neither the proxy saw traffic for it (the Hub polls the
# proxy every last_activity_interval seconds) nor the student's server reported activity
# (every KMEANS_TUTOR_HUB_ACTIVITY seconds) for cull_timeout seconds; a lesson tab left open
# counts as activity while its widgets talk to the kernel.
c.JupyterHub.last_activity_interval = int(env("KMEANS_TUTOR_HUB_LAST_ACTIVITY", "300"))
cull_timeout = int(env("KMEANS_TUTOR_CULL_TIMEOUT", "600"))
cull_every = int(env("KMEANS_TUTOR_CULL_EVERY", "60"))
c.JupyterHub.load_roles = [
    {
        "name": "idle-culler",
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        "services": ["idle-culler"],
    }
]
c.JupyterHub.services = [
    {
        "name": "idle-culler",
        "command": [
            sys.executable, str(HERE / "idle_culler.py"),  # jupyterhub-idle-culler, see that file
            f"--timeout={cull_timeout}",
            f"--cull-every={cull_every}",
            "--remove-named-servers=False",
        ],
    }
]
