"""The lesson server's contents manager: the lessons folder, and nothing a link leads out to.

Drives :class:`LessonContentsManager` on a folder with links in it; the served routes
(``/voila/api/contents``, ``/voila/tree``, ``/voila/render``) are checked end to end in
tests/browser/test_server.py.
"""

from __future__ import annotations

import nbformat
import pytest
from tornado import web

from kmeans_tutor.server.lesson_files import LessonContentsManager, is_inside


@pytest.fixture
def folders(tmp_path):
    """``lessons/`` with a lesson, a subfolder, a hidden file and links in and out; ``outside/`` next to it."""
    lessons, outside = tmp_path / "lessons", tmp_path / "outside"
    (lessons / "sub").mkdir(parents=True)
    outside.mkdir()
    for path in (lessons / "01_a.ipynb", lessons / "sub" / "02_b.ipynb", outside / "secret.ipynb"):
        nbformat.write(nbformat.v4.new_notebook(), str(path))
    (outside / "secret.png").write_bytes(b"not a picture")
    (lessons / ".hidden.ipynb").write_text("{}")
    (lessons / "linked_dir").symlink_to(outside, target_is_directory=True)
    (lessons / "03_linked.ipynb").symlink_to(outside / "secret.ipynb")
    (lessons / "latest.ipynb").symlink_to(lessons / "01_a.ipynb")  # a link that stays inside
    (lessons / "dangling.ipynb").symlink_to(lessons / "gone.ipynb")
    return lessons, outside


@pytest.fixture
def manager(folders):
    return LessonContentsManager(root_dir=str(folders[0]))


def names(model) -> set[str]:
    return {entry["name"] for entry in model["content"]}


def test_listing_leaves_out_what_lies_outside(manager):
    # Before: the listing showed linked_dir and 03_linked.ipynb (and a dangling link
    # made the whole listing fail).
    assert names(manager.get("")) == {"01_a.ipynb", "sub", "latest.ipynb"}
    assert names(manager.get("sub")) == {"02_b.ipynb"}


@pytest.mark.parametrize("path", ["linked_dir", "linked_dir/secret.ipynb", "linked_dir/secret.png",
                                  "03_linked.ipynb", "sub/../linked_dir"])
def test_paths_that_resolve_outside_are_not_found(manager, path):
    with pytest.raises(web.HTTPError) as info:
        manager.get(path, content=False)
    assert info.value.status_code == 404
    # The tree page and the renderer ask these first; they must refuse too, not answer False.
    for check in (manager.dir_exists, manager.file_exists):
        with pytest.raises(web.HTTPError):
            check(path)


def test_what_lies_inside_is_served_links_included(manager):
    assert manager.get("01_a.ipynb")["type"] == "notebook"
    assert manager.get("latest.ipynb", content=False)["type"] == "notebook"
    assert manager.get("sub/02_b.ipynb", content=False)["path"] == "sub/02_b.ipynb"
    assert manager.dir_exists("sub") and manager.file_exists("01_a.ipynb")


@pytest.mark.parametrize("path", ["01_a.ipynb/checkpoints", "01_a.ipynb/x/y", "a" * 5000])
def test_paths_the_file_system_cannot_look_up_are_not_found(manager, path):
    # Before: is_hidden() let NotADirectoryError / "File name too long" escape (HTTP 500).
    for call in (manager.is_hidden, manager.get):
        with pytest.raises(web.HTTPError) as info:
            call(path)
        assert info.value.status_code == 404


def test_is_inside(folders):
    lessons, outside = folders
    assert is_inside(str(lessons / "latest.ipynb"), str(lessons))
    assert is_inside(str(lessons), str(lessons))
    assert not is_inside(str(lessons / "03_linked.ipynb"), str(lessons))
    assert not is_inside(str(outside), str(lessons))
    # A sibling whose name starts like the folder's is not inside it.
    (lessons.parent / "lessons2").mkdir()
    assert not is_inside(str(lessons.parent / "lessons2"), str(lessons))


def test_a_notebook_is_read_without_checking_its_signature(manager, monkeypatch):
    """Voilà marks every output it shows as trusted itself: the signature check was wasted work."""
    from nbformat.sign import NotebookNotary

    def refuse(*args, **kwargs):
        raise AssertionError("the notebook's signature was checked")

    monkeypatch.setattr(NotebookNotary, "check_signature", refuse)
    monkeypatch.setattr(NotebookNotary, "compute_signature", refuse)
    model = manager.get("01_a.ipynb")
    assert model["type"] == "notebook" and model["content"]["nbformat"] == 4
