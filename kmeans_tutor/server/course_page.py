"""The course page: the lesson server's front door, served without a kernel.

The root URL of ``kmeans-tutor serve`` shows the course page: the index notebook's
(``00_index.ipynb``) text, rendered once as plain HTML, with every lesson link pointing at
the lesson's short address ``lesson/N``. It runs no code, so it opens at once and starts
no kernel; its page needs nothing but this server (no fonts, scripts or styles from
elsewhere).

The index notebook stays an ordinary notebook (its links open the lesson notebooks in
JupyterLab); only its markdown cells are shown here. Each lesson notebook carries its
learner-facing title in its metadata (``"title"``, which Voilà also shows as the browser
tab's title), so no file name reaches a student.

This module uses the standard library and nbconvert's markdown renderer, which Voilà
itself depends on.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

__all__ = ["course_page_html", "lesson_number", "lesson_url", "lesson_titles"]

# A lesson notebook's file name, as a link in the index: "04_kmeans_step_by_step.ipynb".
_LESSON_LINK = re.compile(r'href="(\d{2})_[^"/]*\.ipynb"')
_LESSON_FILE = re.compile(r"^(\d{2})_[^/]*\.ipynb$")


def lesson_number(name: str) -> int | None:
    """The lesson number of a notebook file name (``05_initialisation.ipynb`` → 5), else None.

    >>> lesson_number("05_initialisation.ipynb"), lesson_number("notes.ipynb")
    (5, None)
    """
    match = _LESSON_FILE.match(name)
    return int(match.group(1)) if match else None


def lesson_url(number: int, base_url: str = "/") -> str:
    """The short address of lesson ``number`` (``/lesson/4``); lesson 0 is the course page.

    >>> lesson_url(4), lesson_url(0), lesson_url(2, "/class/")
    ('/lesson/4', '/', '/class/lesson/2')
    """
    base = base_url if base_url.endswith("/") else base_url + "/"
    return base if number == 0 else f"{base}lesson/{int(number)}"


def _read(path: Path) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def lesson_titles(lessons_dir: str | Path) -> dict[int, str]:
    """Each lesson's learner-facing title (notebook metadata ``"title"``), by number.

    Only notebooks that really lie in the folder count (a link leading out is skipped, as
    the server refuses to serve it); an unreadable notebook gets an empty title.
    """
    folder = Path(lessons_dir).resolve()
    titles = {}
    for path in sorted(folder.glob("*.ipynb")):
        number = lesson_number(path.name)
        if number is None or not path.resolve().is_relative_to(folder):
            continue
        try:
            titles[number] = str(_read(path).get("metadata", {}).get("title", ""))
        except (OSError, ValueError, AttributeError):
            titles[number] = ""
    return titles


def _markdown(source: str) -> str:
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    return markdown2html_mistune(source)


PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
  :root {{ color-scheme: light; }}
  body {{ margin: 0; background: #f6f6f4; color: #1d1d1f;
         font: 19px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }}
  main {{ max-width: 42rem; margin: 0 auto; padding: 2.5rem 1.5rem 4rem; background: #fff;
         min-height: 100vh; box-sizing: border-box; }}
  h1 {{ font-size: 2.1rem; line-height: 1.2; margin: 0 0 1rem; }}
  h2 {{ font-size: 1.4rem; margin: 2.2rem 0 0.6rem; }}
  ol {{ padding-left: 1.6rem; }}
  li {{ margin: 0.55rem 0; }}
  a {{ color: #0b57d0; text-underline-offset: 0.15em; }}
  a:focus-visible {{ outline: 3px solid #f2a900; outline-offset: 2px; }}
  a.anchor-link {{ display: none; }}
  li em {{ color: #555; white-space: nowrap; }}
  code {{ font-size: 0.9em; background: #f0f0f0; padding: 0 0.2em; border-radius: 3px; }}
</style>
</head>
<body>
<main>
{body}
</main>
</body>
</html>
"""


def course_page_html(lessons_dir: str | Path, base_url: str = "/") -> str:
    """The course page for ``lessons_dir`` as one self-contained HTML document.

    Parameters
    ----------
    lessons_dir : path-like
        The lessons folder; its ``00_index.ipynb`` (or ``index.ipynb``) holds the text.
    base_url : str, default="/"
        The server's base URL, for the lesson links.

    Returns
    -------
    str
    """
    folder = Path(lessons_dir)
    index = next((p for p in (folder / "00_index.ipynb", folder / "index.ipynb") if p.is_file()), None)
    if index is None:
        notebook = {"metadata": {"title": "Lessons"}, "cells": [
            {"cell_type": "markdown", "source": "# Lessons\n\n" + "\n".join(
                f"{n}. [{t or f'Lesson {n}'}]({n:02d}_.ipynb)"
                for n, t in lesson_titles(folder).items() if n)}]}
    else:
        notebook = _read(index)
    sources = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
               for c in notebook.get("cells", []) if c.get("cell_type") == "markdown"]
    body = _markdown("\n\n".join(sources))
    body = _LESSON_LINK.sub(lambda m: f'href="{html.escape(lesson_url(int(m.group(1)), base_url))}"', body)
    title = notebook.get("metadata", {}).get("title") or "Lessons"
    return PAGE.format(title=html.escape(str(title)), body=body)
