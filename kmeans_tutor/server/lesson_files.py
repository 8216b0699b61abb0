"""What the lesson server reads from disk: the lessons folder and nothing outside it.

Voilà serves a folder through jupyter_server's contents manager (the listing at ``/``,
``/voila/tree/``, ``/voila/api/contents/`` and the notebooks ``/voila/render/`` runs). That
manager checks that a path is inside the folder *as written*, so a symbolic link in the
folder (``etc -> /etc``, ``extra.ipynb -> ~/private.ipynb``) lets anyone list, and run,
what it points to. :class:`LessonContentsManager` checks the path the file system resolves
(``os.path.realpath``) instead: what resolves outside the folder is refused (404) and left
out of listings. A path that cannot be looked up at all (``lesson.ipynb/checkpoints``, a
loop of links, a name too long) is a 404 too, instead of an error with a traceback. It also
skips the notebook's signature check on every page (see
:meth:`LessonContentsManager.mark_trusted_cells`).

:class:`TemplateAssetHandler` serves ``/voila/templates/<template>/static/<file>`` like
Voilà's own handler, but answers 404 to a URL of any other shape (``..%2f`` included),
which Voilà's handler turns into a 500 and a traceback.

``/voila/files/`` needs nothing here: Tornado's static file handler already refuses a link
that leads outside the folder (403).

:class:`kmeans_tutor.server.voila_app.LessonVoila` installs both; like it, this module runs
inside the Voilà process only.
"""

from __future__ import annotations

import os
import posixpath
import re

from jupyter_server.services.contents.largefilemanager import LargeFileManager
from tornado import web
from voila.static_file_handler import TemplateStaticFileHandler

__all__ = ["LessonContentsManager", "TemplateAssetHandler", "is_inside"]

# A template name as Voilà's template folders use them; "." and ".." cannot match.
_TEMPLATE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


def is_inside(path: str, folder: str) -> bool:
    """Whether ``path`` is ``folder`` or inside it once every symbolic link is resolved."""
    real, root = os.path.realpath(path), os.path.realpath(folder)
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


class LessonContentsManager(LargeFileManager):
    """Voilà's contents manager (``LargeFileManager``), confined to the real lessons folder.

    Every lookup goes through ``_get_os_path``; it refuses, with a 404, a path whose real
    location is outside ``root_dir`` and a path the file system cannot look up. Folder
    listings only show entries that would be served.
    """

    def _get_os_path(self, path):
        os_path = super()._get_os_path(path)  # checks the path as written
        if not is_inside(os_path, self.root_dir):
            raise web.HTTPError(404, "%s is outside the lessons folder", path)
        # A missing file is left to the caller (it answers 404 itself). Any other failure
        # (NotADirectoryError for "lesson.ipynb/checkpoints", a loop of links, a name too
        # long, no permission) would otherwise escape later as a 500 with a traceback.
        try:
            os.stat(os_path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise web.HTTPError(404, "cannot look up %s: %s", path, exc.strerror) from None
        return os_path

    def mark_trusted_cells(self, nb, path=None):
        """Leave the cells' "trusted" marks alone: Voilà marks every output it shows as
        trusted itself (its exporter's ``trusted`` filter), so checking the notebook's
        signature (a hash of the whole notebook, looked up in the signature database)
        only cost each page about 10 ms of the server's one core."""

    def _dir_model(self, path, content=True):
        # jupyter_server's listing asks for every entry and fails as a whole when one
        # entry is refused, so the listing is built here, skipping what is refused.
        model = super()._dir_model(path, content=False)
        if content:
            model["content"] = list(self._served_entries(path))
            model["format"] = "json"
        return model

    def _served_entries(self, path):
        """Models (without content) of the entries of folder ``path`` that would be served."""
        try:
            names = os.listdir(self._get_os_path(path))
        except OSError as exc:
            raise web.HTTPError(403, "cannot list %s: %s", path, exc.strerror) from None
        for name in names:
            entry = f"{path.strip('/')}/{name}".lstrip("/")
            try:
                os_path = self._get_os_path(entry)
                # Files and folders only (no sockets, no broken links), and never hidden ones.
                if not self.should_list(name) or not (os.path.isfile(os_path) or os.path.isdir(os_path)):
                    continue
                if not self.allow_hidden and self.is_hidden(entry):
                    continue
                yield self.get(entry, content=False)
            except (web.HTTPError, OSError):
                continue


class TemplateAssetHandler(TemplateStaticFileHandler):
    """Voilà's ``/voila/templates/<template>/static/<file>`` handler, 404 for any other URL.

    Voilà's handler unpacks the URL with ``assert`` and tuple unpacking, so a URL without
    ``/static/``, an unknown template or a ``..`` that climbs out of ``static`` raised an
    AssertionError or a ValueError (HTTP 500). Such URLs are refused before it runs.
    """

    def parse_url_path(self, path):
        template, static, _ = (path.split("/", 2) + ["", ""])[:3]
        prefix = f"{template}/static/"
        if (static != "static" or not _TEMPLATE_NAME.fullmatch(template)
                or not posixpath.normpath(path).startswith(prefix)):
            raise web.HTTPError(404)
        return super().parse_url_path(path)
