"""The lesson server's Voilà: Voilà that turns away what a lesson server never serves.

``kmeans-tutor serve`` runs ``python -m kmeans_tutor.server.voila_app <Voilà options>``
(:func:`kmeans_tutor.server.serve.build_voila_command`); that works exactly like
``python -m voila`` with :class:`LessonVoila` in place of :class:`voila.app.Voila`, and
every ``--Voila.xxx`` option still applies (traitlets configuration reaches subclasses).
On top of Voilà, before any of Voilà's handlers runs (:class:`LessonApplication`):

* **Host check.** A request whose ``Host`` header is not a name of this server gets 403,
  on every route: pages, static files, the contents API and kernel websockets. Otherwise a
  web page on any site could reach a server on 127.0.0.1 through DNS rebinding (its own
  name made to point at 127.0.0.1) and start kernels. Voilà sets
  ``allow_remote_access=True``, which turns jupyter_server's own check off, and that check
  would refuse the LAN address a class uses anyway. :class:`HostFilter` allows loopback
  names and addresses always; when the server listens beyond loopback, also the ``--host``
  given, this machine's names and the addresses of its network interfaces; and the
  names listed in ``--LessonVoila.allowed_hosts``.
* **Odd methods and unreadable URLs.** A method Tornado does not know (``FOO``,
  ``PROPFIND``) gets 405, and a path that is not UTF-8 text (``%ff``) or holds a control
  character (``%00``) gets 400, before routing. Tornado refuses both before a handler has
  looked up its user, and jupyter_server's error page then fails with a traceback; a NUL
  also reached ``os.stat`` and a ``Location`` header (500).

and in Voilà's own parts:

* **Error pages.** jupyter_server's error templates need a ``static_path`` setting that
  standalone Voilà lacks, so every error page they render (an unknown kernel's websocket, a
  missing theme or extension file) failed with a traceback. A plain page of our own
  (``_error_pages/error.html``) comes first.
* **No ``/logout``**: its page has the same fault, and a lesson server has nothing to log
  out of (the token is in the URL). It answers 404.
* **The lessons folder, and nothing outside it** (:mod:`kmeans_tutor.server.lesson_files`),
  and 404 for malformed ``/voila/templates/`` URLs.
* **Templates compiled once.** Voilà makes a new Jinja environment for every page it renders,
  so every page compiled its dozen templates again: about 0.1 s of the server's one core per
  student, which a class of 30 arriving together waits for. Compiled templates are kept in
  memory (:class:`CompiledTemplates`), each under its file's name and a checksum of its text,
  so an edited template is compiled afresh.
* **Markdown rendered once.** Voilà turns every Markdown cell into HTML again for every page:
  the lesson's prose, and the figures and tables drawn in advance (:mod:`.predrawn`), which
  arrive as Markdown cells of HTML up to hundreds of kilobytes long. That was 10–20 ms of the
  server's one core per page, 7 % of its time while a class arrived. The HTML of a cell is
  kept in memory (:class:`RenderedMarkdown`) under everything it is made from: the cell's
  text and attachments and the renderer's settings, so an edited cell is rendered afresh.
  A cell showing an image file (``![…](picture.png)``) is rendered every time, since Voilà
  puts the file's current contents into the page.
* **No debug records below the log level.** traitlets sets the server's logger to DEBUG and
  filters on its handler, so every ``log.debug`` call (one per kernel message in
  jupyter_server's activity watch) built a record that was then thrown away. The logger
  takes the server's ``--Voila.log_level`` instead (``--debug`` still shows everything).
* **A course page, and short lesson addresses.** The root URL is the course page
  (:mod:`kmeans_tutor.server.course_page`), served without a kernel, instead of Voilà's
  file list; ``/voila/tree`` leads there too. ``/lesson/N`` runs lesson N exactly as
  ``/voila/render/NN_name.ipynb`` does (same preheated kernels), and a lesson's link to
  another notebook (``05_initialisation.ipynb``) leads to ``/lesson/5``, so no notebook file
  name shows in the address bar.

This module runs inside the Voilà process only (it imports Voilà, jupyter_server and
Tornado); :mod:`kmeans_tutor.server.serve` names it by a string.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import tempfile
import threading
import warnings
from pathlib import Path
from typing import Iterable
from urllib.parse import unquote_to_bytes

import jinja2
import psutil
import tornado.web
from jupyter_server.auth.logout import LogoutHandler
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_path_join
from nbconvert.exporters.templateexporter import TemplateExporter
from tornado.log import app_log
from traitlets import List, Unicode
from voila.app import Voila
from voila.exporter import VoilaExporter
from voila.static_file_handler import TemplateStaticFileHandler
from voila.tornado.handler import TornadoVoilaHandler
from voila.tornado.treehandler import TornadoVoilaTreeHandler

from .course_page import course_page_html, lesson_number, lesson_url
from .lesson_files import LessonContentsManager, TemplateAssetHandler
from .serve import LessonNotFoundError, find_lesson

__all__ = ["CompiledTemplates", "CoursePageHandler", "HostFilter", "LessonApplication", "LessonPageHandler",
           "LessonVoila", "RefusedHostHandler", "RenderedMarkdown", "host_name", "interface_addresses",
           "is_readable_path", "keep_compiled_templates", "main"]

ERROR_PAGES = Path(__file__).resolve().parent / "_error_pages"  # error.html for jupyter_server's handlers
STANDARD_METHODS = frozenset(tornado.web.RequestHandler.SUPPORTED_METHODS)
# Voilà's handler classes and the ones this server uses instead.
HANDLER_REPLACEMENTS = {TemplateStaticFileHandler: TemplateAssetHandler}


# --- which Host headers are ours ---------------------------------------------------------


def host_name(host: str) -> str:
    """A Host header's name in one spelling: lower case, no port, no brackets, no final dot.

    IP addresses are written the way :mod:`ipaddress` writes them, without an IPv6 zone
    (``[0:0::1]:8866`` → ``::1``; ``[fe80::1%eth0]`` → ``fe80::1``).
    """
    name = host.strip().lower()
    if name.startswith("["):  # [IPv6] or [IPv6]:port
        name = name[1:].split("]", 1)[0]
    elif name.count(":") == 1:  # name:port or IPv4:port
        name = name.split(":", 1)[0]
    name = name.rstrip(".")
    address = _ip_address(name)
    return str(address) if address is not None else name


def _ip_address(name: str):
    """``name`` as an IP address (an IPv4-mapped IPv6 one as IPv4), or None for a host name."""
    try:
        address = ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped if mapped is not None else address


def interface_addresses() -> set[str]:
    """The IPv4 and IPv6 addresses of this machine's network interfaces, as :func:`host_name` writes them."""
    return {
        host_name(entry.address)
        for entries in psutil.net_if_addrs().values()
        for entry in entries
        if entry.family in (socket.AF_INET, socket.AF_INET6)
    }


class HostFilter:
    """Which ``Host`` headers a server listening on ``bind_host`` answers.

    Always loopback: ``localhost`` and every loopback address (``127.0.0.0/8``, ``::1``).
    When ``bind_host`` is not loopback, also ``bind_host`` itself (unless it is a wildcard
    such as ``0.0.0.0``), this machine's host names (``socket.gethostname()``,
    ``socket.getfqdn()``) and the addresses of its network interfaces, including one
    gained after start-up. Plus the names in ``extra``.

    Examples
    --------
    >>> local = HostFilter("127.0.0.1")
    >>> local.allows("localhost:8866"), local.allows("[::1]:8866"), local.allows("evil.example.com")
    (True, True, False)
    """

    def __init__(self, bind_host: str, extra: Iterable[str] = ()):
        bind = host_name(bind_host)
        bind_ip = _ip_address(bind)
        self.network = not self.allows_always(bind)
        self.names = {host_name(name) for name in extra if name.strip()}
        if self.network:
            # getfqdn() may ask DNS, so the names are looked up once, here.
            self.names |= {host_name(socket.gethostname()), host_name(socket.getfqdn())}
            self.names |= interface_addresses()
            if bind and not (bind_ip is not None and bind_ip.is_unspecified):
                self.names.add(bind)

    @staticmethod
    def allows_always(host: str) -> bool:
        """Whether ``host`` is a loopback name or address, which every server answers."""
        name = host_name(host)
        address = _ip_address(name)
        return name == "localhost" or (address is not None and address.is_loopback)

    def allows(self, host: str) -> bool:
        """Whether a request with this ``Host`` header (port optional) is for this server."""
        name = host_name(host)
        address = _ip_address(name)
        if self.allows_always(name) or name in self.names:
            return True
        # A laptop can get a new address during a class (another Wi-Fi); addresses only,
        # since a name cannot be checked without asking DNS.
        return self.network and address is not None and name in interface_addresses()


# --- the Tornado application -------------------------------------------------------------------


def is_readable_path(path: str) -> bool:
    """Whether a URL path decodes to UTF-8 text without control characters, as file names are."""
    try:
        text = unquote_to_bytes(path).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not any(ord(c) < 32 or ord(c) == 127 for c in text)


class RefusedHostHandler(tornado.web.ErrorHandler):
    """403 for a request whose Host is not a name of this server, whatever its method."""

    def initialize(self, host: str):
        super().initialize(status_code=403)
        self.refused_host = host
        # Any method is "supported", so that an odd one gets this 403 and not a 405.
        self.SUPPORTED_METHODS = (self.request.method,)

    def prepare(self):
        app_log.warning("Refused a request for host %r: not a name of this lesson server.", self.refused_host)
        super().prepare()

    def write_error(self, status_code, **kwargs):
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish(f"403 Forbidden: this lesson server does not answer to the name "
                    f"{self.refused_host!r}. Open it at the address your teacher gave.\n")


class LessonApplication(tornado.web.Application):
    """Tornado's Application, refusing a bad Host (403), an unknown method (405) or an
    unreadable path (400) before routing."""

    def __init__(self, host_filter: HostFilter, **settings):
        super().__init__(**settings)
        self.host_filter = host_filter

    def find_handler(self, request, **kwargs):
        if not self.host_filter.allows(request.host):
            return self.get_handler_delegate(request, RefusedHostHandler, {"host": request.host})
        # Tornado's own ErrorHandler writes a plain page that cannot fail.
        if request.method not in STANDARD_METHODS:
            return self.get_handler_delegate(request, tornado.web.ErrorHandler, {"status_code": 405})
        if not is_readable_path(request.path):
            return self.get_handler_delegate(request, tornado.web.ErrorHandler, {"status_code": 400})
        return super().find_handler(request, **kwargs)


# --- the course page and short lesson addresses ------------------------------------------


class CoursePageHandler(JupyterHandler):
    """The course page at the root URL: plain HTML, no kernel (see :mod:`.course_page`)."""

    def initialize(self, lessons_dir: str, to_root: bool = False):
        self.lessons_dir = lessons_dir
        self.to_root = to_root  # /voila/tree: redirect to the one address of the course page

    @tornado.web.authenticated
    def get(self, path: str = ""):
        if path.strip("/"):  # /voila/tree/<folder>: the course page is the only listing
            raise tornado.web.HTTPError(404)
        if self.to_root:
            return self.redirect(self.base_url)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-cache")
        self.finish(course_page_html(self.lessons_dir, self.base_url))


class LessonPageHandler(TornadoVoilaHandler):
    """``/lesson/N``: lesson N, rendered by Voilà as ``/voila/render/NN_name.ipynb`` is.

    ``/lesson/NN_name.ipynb`` (a lesson's relative link to another lesson) redirects to
    ``/lesson/N``, and lesson 0 (the index notebook) to the course page.
    """

    def initialize(self, lessons_dir: str, **kwargs):
        super().initialize(**kwargs)
        self.lessons_dir = lessons_dir

    @tornado.web.authenticated
    async def get(self, name: str):
        number = int(name) if name.isdigit() and len(name) <= 3 else lesson_number(name)
        if number is None:
            raise tornado.web.HTTPError(404)
        if number == 0 or not name.isdigit():
            return self.redirect(lesson_url(number, self.base_url))
        try:
            notebook = find_lesson(self.lessons_dir, number)
        except (LessonNotFoundError, ValueError):
            raise tornado.web.HTTPError(404) from None
        return await super().get(path=notebook.name)


# --- Voilà ------------------------------------------------------------------------------------


class CompiledTemplates(jinja2.BytecodeCache):
    """Jinja's compiled templates, kept in memory for the life of the server.

    Jinja stores each template under its name and file, with a checksum of its text: a
    template whose text changed is compiled again, never served stale. One store serves
    environments that compile alike (see :func:`keep_compiled_templates`).
    """

    def __init__(self):
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket):
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket):
        self._code[bucket.key] = bucket.bytecode_to_string()


_COMPILED: dict[tuple, CompiledTemplates] = {}


def keep_compiled_templates(environment: jinja2.Environment) -> jinja2.Environment:
    """Give ``environment`` the store of compiled templates shared by every environment
    whose settings compile templates the same way (async or not, extensions, whitespace
    and escaping rules)."""
    autoescape = environment.autoescape
    key = (environment.is_async, tuple(sorted(environment.extensions)), environment.optimized,
           environment.trim_blocks, environment.lstrip_blocks, environment.keep_trailing_newline,
           environment.newline_sequence, environment.block_start_string, environment.block_end_string,
           environment.variable_start_string, environment.variable_end_string,
           environment.comment_start_string, environment.comment_end_string,
           environment.line_statement_prefix, environment.line_comment_prefix,
           autoescape if isinstance(autoescape, bool) else id(autoescape),
           id(environment.finalize), id(environment.code_generator_class))
    environment.bytecode_cache = _COMPILED.setdefault(key, CompiledTemplates())
    return environment


def _compile_templates_once() -> None:
    """Every nbconvert exporter of this process (Voilà's pages) keeps its compiled templates."""
    create = TemplateExporter._create_environment
    if getattr(create, "_kt_keeps_compiled", False):
        return

    def _create_environment(self):
        return keep_compiled_templates(create(self))

    _create_environment._kt_keeps_compiled = True
    TemplateExporter._create_environment = _create_environment


class RenderedMarkdown:
    """HTML of Markdown cells, kept in memory under the cell's text, its attachments and the
    renderer's settings; the least recently used go once the texts and HTML held pass
    ``limit`` characters."""

    def __init__(self, limit: int = 64_000_000):
        self.limit = limit
        self._html: dict[tuple, str] = {}  # in order of use, the last used last
        self._size = 0
        self._lock = threading.Lock()

    @staticmethod
    def key(exporter, cell, source: str) -> tuple | None:
        """What the HTML of ``source`` is made from, or None when it also depends on a file
        (an image Voilà puts into the page) and must be rendered each time."""
        if not isinstance(source, str) or "![" in source:
            return None
        attachments = cell.get("attachments", {}) if hasattr(cell, "get") else {}
        try:
            attached = json.dumps(attachments, sort_keys=True)
        except (TypeError, ValueError):
            return None
        return (type(exporter), exporter.markdown_renderer_class, exporter.anchor_link_text,
                source, attached)

    def get(self, key: tuple) -> str | None:
        with self._lock:
            html = self._html.pop(key, None)
            if html is not None:
                self._html[key] = html  # used last
            return html

    def put(self, key: tuple, html: str) -> None:
        size = len(key[3]) + len(html)
        if size > self.limit:
            return
        with self._lock:
            if key in self._html:
                return
            self._html[key] = html
            self._size += size
            while self._size > self.limit:
                old_key = next(iter(self._html))
                self._size -= len(old_key[3]) + len(self._html.pop(old_key))


RENDERED_MARKDOWN = RenderedMarkdown()


def _render_markdown_once() -> None:
    """Voilà's pages take a Markdown cell's HTML from :data:`RENDERED_MARKDOWN` once it has
    been rendered (see the module docstring)."""
    render = VoilaExporter.markdown2html
    if getattr(render, "_kt_kept", False):
        return

    @jinja2.pass_context
    def markdown2html(self, context, source):
        key = RENDERED_MARKDOWN.key(self, context.get("cell", {}), source)
        html = None if key is None else RENDERED_MARKDOWN.get(key)
        if html is None:
            html = render(self, context, source)
            if key is not None:
                RENDERED_MARKDOWN.put(key, html)
        return html

    markdown2html._kt_kept = True
    VoilaExporter.markdown2html = markdown2html


class LessonVoila(Voila):
    """Voilà with the refusals described in the module docstring.

    Configure the extra names with ``--LessonVoila.allowed_hosts=NAME`` (repeat for more).
    """

    allowed_hosts = List(Unicode(), config=True,
                         help="More names or addresses this server answers to (e.g. a DNS alias "
                              "of this machine), besides its own names and addresses.")

    def get_default_logging_config(self):
        config = super().get_default_logging_config()
        logger = config.get("loggers", {}).get(self.__class__.__name__)
        if logger is not None:  # absent under pythonw; a logging_config can still lower it
            logger["level"] = self.log_level
        return config

    def init_settings(self):
        _compile_templates_once()
        _render_markdown_once()
        settings = super().init_settings()
        # Voilà builds its contents manager itself (no option names the class): replace it.
        # The kernel manager's preheated renders read it from this app later, so they get
        # this one too.
        self.contents_manager = LessonContentsManager(parent=self)
        settings["contents_manager"] = self.contents_manager
        env = settings["jinja2_env"]  # jupyter_server's templates: error.html needs static_path
        env.loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(ERROR_PAGES)), env.loader])
        return settings

    def init_handlers(self):
        handlers = []
        lessons = {"lessons_dir": self.root_dir}
        for pattern, handler, *options in super().init_handlers():
            if isinstance(handler, type) and issubclass(handler, LogoutHandler):
                continue
            if handler is TornadoVoilaTreeHandler:  # "/" and /voila/tree: the course page
                handlers.append((pattern, CoursePageHandler, {**lessons, "to_root": "tree" in pattern}))
                continue
            if handler is TornadoVoilaHandler and options:  # /voila/render/...: also /lesson/N
                handlers.append((url_path_join(self.server_url, r"/lesson/([^/]+)"), LessonPageHandler,
                                 {**options[0], **lessons}))
            handlers.append((pattern, HANDLER_REPLACEMENTS.get(handler, handler), *options))
        return handlers

    def start(self):
        # Voila.start (voila 0.5.13) with LessonApplication in place of tornado.web.Application;
        # the refusals must be in the application, the only place that sees every request.
        self.connection_dir = tempfile.mkdtemp(prefix="voila_", dir=self.connection_dir_root)
        self.log.info("Storing connection files in %s." % self.connection_dir)
        self.log.info("Serving static files from %s." % self.static_root)
        settings = self.init_settings()
        host_filter = HostFilter(self.ip, self.allowed_hosts)
        others = sorted(name for name in host_filter.names if not host_filter.allows_always(name))
        self.log.info("Answering requests for loopback names and addresses%s; refusing any other Host.",
                      f" and {', '.join(others)}" if others else "")
        self.app = LessonApplication(host_filter, **settings)
        self.app.settings.update(self.tornado_settings)
        self.app.add_handlers(".*$", self.init_handlers())
        # The kernels' template imports while the server starts, not when the first page asks.
        start_template = getattr(self.kernel_manager, "start_template", None)
        if callable(start_template):
            start_template()
        self.listen()


main = LessonVoila.launch_instance

if __name__ == "__main__":
    # The preheated kernels per lesson reach Voilà as one JSON dict
    # (--VoilaKernelManager.kernel_pools_config={...}): its nested values cannot be given
    # item by item, the form traitlets would rather have, and its warning would only
    # puzzle a teacher reading the console.
    warnings.filterwarnings("ignore", message=".*for dict-traits is deprecated", category=DeprecationWarning)
    main()
