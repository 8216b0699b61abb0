"""Each widget of an app reaches the page once, as the app is when it is built: one model per
widget, no update before the page has seen it, and every widget after those it refers to."""

from __future__ import annotations

import json
import uuid

import comm
import ipywidgets as widgets
import pytest
from ipywidgets.widgets.widget import _instances

from kmeans_tutor.widgets.pitfalls import pitfall_card
from kmeans_tutor.widgets.sending import sent_when_built
from kmeans_tutor.widgets.shared_styles import shared_layout, styled
from tests.widgets.test_kept_pictures import APPS
from tests.widgets.test_shared_styles import every_widget


class Kernel:
    """What a kernel's comms send to the page, in order: ("open", id, state) for each model,
    ("update", id, state) for each later change, ("custom", id, content) for the rest."""

    def __init__(self):
        self.sent: list[tuple] = []

    def create_comm(self, target_name="", data=None, metadata=None, buffers=None, comm_id=None, **kwargs):
        return _Comm(self, comm_id or uuid.uuid4().hex, data or {})


class _Comm:
    def __init__(self, kernel, comm_id, data):
        self.kernel, self.comm_id = kernel, comm_id
        kernel.sent.append(("open", comm_id, _plain(data.get("state", {}))))

    def send(self, data=None, metadata=None, buffers=None):
        kind = data.get("method") if isinstance(data, dict) else None
        if kind == "update":
            self.kernel.sent.append(("update", self.comm_id, _plain(data["state"])))
        else:
            self.kernel.sent.append(("custom", self.comm_id, data))

    def on_msg(self, callback):
        pass

    def close(self, *args, **kwargs):
        pass


def _plain(state) -> dict:
    return json.loads(json.dumps(state, default=repr))


@pytest.fixture
def kernel(monkeypatch):
    k = Kernel()
    monkeypatch.setattr(comm, "create_comm", k.create_comm)
    yield k
    # Widgets on this recording kernel (shared styles among them) are closed, so that later
    # tests make their own and none outlives the test run.
    for widget in list(_instances.values()):
        if isinstance(widget.comm, _Comm):
            widget.close()


def references(state) -> set:
    text = json.dumps(state)
    return {part.split('"')[0] for part in text.split("IPY_MODEL_")[1:]}


@pytest.mark.parametrize("name", [*APPS, "pitfall_card"])
def test_an_app_reaches_the_page_as_built_each_widget_once_after_those_it_refers_to(name, kernel):
    shared_before = set(_instances)  # shared styles and layouts made for earlier apps
    app = pitfall_card("rings") if name == "pitfall_card" else APPS[name]()
    sent = kernel.sent
    updates = [(kind, state) for kind, _, state in sent if kind == "update"]
    assert not updates, f"{len(updates)} updates sent as the app was built, e.g. {updates[:3]}"
    opened = [comm_id for kind, comm_id, _ in sent if kind == "open"]
    assert len(opened) == len(set(opened)), "a widget sent twice"
    for widget in every_widget(app):
        assert widget.comm is not None, f"{type(widget).__name__} never sent"
    seen = set(shared_before)
    for kind, comm_id, state in sent:
        if kind == "open":
            missing = references(state) - seen
            assert not missing, f"a model refers to {len(missing)} not sent before it"
            seen.add(comm_id)
    # What the page got is each widget as it is now.
    first_state = {comm_id: state for kind, comm_id, state in sent if kind == "open"}
    for widget in every_widget(app):
        if widget.comm.comm_id in first_state:  # a shared style made before this app was
            assert first_state[widget.comm.comm_id] == _plain(widget.get_state()), type(widget).__name__
    assert widgets.Widget.open is widgets.Widget.__dict__["open"]


def test_later_changes_and_widgets_made_outside_an_app_are_sent_at_once(kernel):
    app = APPS["stepper"]()
    kernel.sent.clear()
    app.transport.step.click()
    assert any(kind == "update" for kind, _, _ in kernel.sent)
    label = widgets.Label("now")
    assert label.comm is not None and kernel.sent[-1][0] == "open"


def test_an_app_that_fails_to_build_still_sends_what_it_made_and_leaves_sharing_intact(kernel):
    made = {}

    class Broken(widgets.VBox):
        @sent_when_built
        def __init__(self):
            super().__init__()
            made["first"] = styled(widgets.HTML, "x", layout=shared_layout(width="3px", margin="1px"))
            raise ValueError("no data")

    with pytest.raises(ValueError, match="no data"):
        Broken()
    assert widgets.Widget.open is widgets.Widget.__dict__["open"]
    assert made["first"].comm is not None and made["first"].layout.comm is not None
    again = styled(widgets.HTML, "y", layout=shared_layout(width="3px", margin="1px"))
    assert again.layout is made["first"].layout  # the shared layout made inside is shared


def test_widgets_made_together_share_their_styles_before_they_are_sent(kernel):
    pair = {}

    @sent_when_built
    def build():
        pair["a"] = styled(widgets.Button, description="a", layout=shared_layout(width="7px", margin="2px"))
        pair["b"] = styled(widgets.Button, description="b", layout=shared_layout(width="7px", margin="2px"))
        assert pair["a"].comm is None
        return widgets.HBox([pair["a"], pair["b"]])

    box = build()
    assert pair["a"].layout is pair["b"].layout and pair["a"].style is pair["b"].style
    layouts = [s for kind, _, s in kernel.sent if kind == "open" and s.get("_model_name") == "LayoutModel"
               and s.get("width") == "7px"]
    assert len(layouts) == 1
    assert box.comm is not None
