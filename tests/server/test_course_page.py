"""The course page: every lesson in order, short addresses, no file names, nothing from elsewhere."""

from __future__ import annotations

import json
import re
from pathlib import Path

from kmeans_tutor.server.course_page import course_page_html, lesson_number, lesson_titles, lesson_url
from kmeans_tutor.server.serve import find_lessons_dir, list_lessons

LESSONS = find_lessons_dir()


def test_the_course_page_lists_every_lesson_in_order_with_its_short_address_and_time():
    page = course_page_html(LESSONS)
    numbers = [n for n in list_lessons(LESSONS) if n]
    links = re.findall(r'<a href="([^"]+)">([^<]+)</a>', page)
    assert [href for href, _ in links if href.startswith("/lesson/")] == [f"/lesson/{n}" for n in numbers]
    titles = lesson_titles(LESSONS)
    for (href, text), n in zip([link for link in links if link[0].startswith("/lesson/")], numbers):
        # The link reads as the lesson's own title (without its "Lesson N ·" prefix).
        assert titles[n].split(" · ", 1)[1] == text
    items = re.findall(r"<li>(.*?)</li>", page, re.S)
    lesson_items = [item for item in items if "/lesson/" in item]
    assert len(lesson_items) == len(numbers)
    assert all(re.search(r"About \d+ minutes", item) for item in lesson_items)


def test_no_notebook_file_name_and_nothing_from_another_host():
    page = course_page_html(LESSONS)
    assert ".ipynb" not in page
    # Only relative or same-server addresses: no scheme, no protocol-relative URL.
    for url in re.findall(r'(?:href|src)="([^"]*)"', page):
        assert not re.match(r"^[a-z]+:|^//", url), url
    assert "@import" not in page and "url(" not in page
    assert "<script" not in page


def test_the_page_follows_the_base_url_and_escapes_the_title(tmp_path: Path):
    index = {"cells": [{"cell_type": "markdown", "metadata": {},
                        "source": "# Course\n\n1. [One](01_one.ipynb) and [Two](02_two.ipynb)\n"}],
             "metadata": {"title": "A <b>course</b>"}, "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "00_index.ipynb").write_text(json.dumps(index))
    page = course_page_html(tmp_path, "/class/")
    assert 'href="/class/lesson/1"' in page and 'href="/class/lesson/2"' in page
    assert "<title>A &lt;b&gt;course&lt;/b&gt;</title>" in page


def test_a_folder_without_an_index_still_gets_a_page_from_the_lesson_titles(tmp_path: Path):
    for n, title in [(1, "Lesson 1 · First"), (2, "Lesson 2 · Second")]:
        nb = {"cells": [], "metadata": {"title": title}, "nbformat": 4, "nbformat_minor": 5}
        (tmp_path / f"0{n}_x.ipynb").write_text(json.dumps(nb))
    page = course_page_html(tmp_path)
    assert 'href="/lesson/1">Lesson 1 · First</a>' in page
    assert 'href="/lesson/2">Lesson 2 · Second</a>' in page


def test_lesson_numbers_and_addresses():
    assert lesson_number("07_from_clusters_to_customers.ipynb") == 7
    assert lesson_number("7_x.ipynb") is None and lesson_number("notes.ipynb") is None
    assert lesson_url(7) == "/lesson/7" and lesson_url(0) == "/"
    assert lesson_url(3, "/base") == "/base/lesson/3"
