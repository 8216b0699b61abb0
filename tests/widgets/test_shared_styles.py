"""Widgets share one style per kind and settings, and one layout per settings: fewer models
for the page to build, and no widget (nor a crafted message from the page) can restyle or
hide another."""

import ipywidgets as widgets
import pytest

from kmeans_tutor.data.pitfalls import PITFALLS
from kmeans_tutor.widgets.challenge import ChallengeApp
from kmeans_tutor.widgets.choose_k import ChooseKApp
from kmeans_tutor.widgets.compare import CompareApp
from kmeans_tutor.widgets.pitfalls import pitfall_card
from kmeans_tutor.widgets.quantise import QuantiseApp
from kmeans_tutor.widgets.quiz import Question, quiz_from
from kmeans_tutor.widgets.segments import SegmentsApp
from kmeans_tutor.widgets.figure import FigureFit, PresenterView
from kmeans_tutor.widgets.shared_styles import own_layout, set_display, shared_layout, shared_style, styled
from kmeans_tutor.widgets.stepper import StepperApp


def every_widget(root):
    """``root`` and every widget it holds, as the page receives them."""
    seen, todo = {}, [root]
    while todo:
        w = todo.pop()
        if id(w) in seen:
            continue
        seen[id(w)] = w
        for name in w.keys:
            value = getattr(w, name, None)
            todo += [v for v in (value if isinstance(value, (list, tuple)) else [value])
                     if isinstance(v, widgets.Widget)]
    return list(seen.values())


BUILDERS = {
    "stepper": StepperApp,
    "compare": CompareApp,
    "challenge": ChallengeApp,
    "choose_k": ChooseKApp,
    "segments": SegmentsApp,
    "quantise": lambda: QuantiseApp(k=4),
    "quiz": lambda: quiz_from([Question("K-means finds k by itself?", ["yes", "no"], 1, "You choose k.")]),
    "pitfall": lambda: pitfall_card(PITFALLS[0].dataset),
}


@pytest.mark.parametrize("name", BUILDERS)
def test_no_widget_of_an_app_has_a_style_of_its_own(name):
    everything = every_widget(BUILDERS[name]())
    styled_widgets = [w for w in everything if "style" in w.keys]
    assert styled_widgets, "the app has no styled widgets: the test looks at nothing"
    private = sorted({type(w).__name__ for w in styled_widgets if not getattr(w.style, "_kt_frozen", False)})
    assert private == [], f"widgets made without styled(): {private}"
    # One style model per kind and settings, however many widgets use it.
    styles = {id(w.style) for w in styled_widgets}
    kinds = {(type(w.style), tuple(sorted(w.style.get_state().items()))) for w in styled_widgets}
    assert len(styles) == len(kinds) < len(styled_widgets)


@pytest.mark.parametrize("name", BUILDERS)
def test_the_widgets_of_an_app_share_one_layout_per_settings(name):
    everything = every_widget(BUILDERS[name]())
    layouts = [w.layout for w in everything if "layout" in w.keys]
    shared = {id(layout): layout for layout in layouts if getattr(layout, "_kt_frozen", False)}
    with_shared = sum(getattr(layout, "_kt_frozen", False) for layout in layouts)
    assert with_shared > len(layouts) / 2 and len(shared) < with_shared  # most widgets share one
    settings = [tuple(sorted(layout.get_state().items())) for layout in shared.values()]
    assert len(settings) == len(set(settings))  # and no two of them the same settings


def test_hiding_a_widget_hides_no_other_that_shared_its_layout():
    a = styled(widgets.Button, description="a", layout={"width": "auto"})
    b = styled(widgets.Button, description="b", layout={"width": "auto"})
    assert a.layout is b.layout
    with pytest.raises(AttributeError, match=r"shared layout cannot change \('display'\).*set_display"):
        a.layout.display = "none"
    set_display(a, "none")
    assert (a.layout.display, a.layout.width) == ("none", "auto")
    assert b.layout.display is None and b.layout is shared_layout(width="auto")
    hidden = a.layout
    assert hidden is shared_layout(width="auto", display="none")  # hidden widgets share one too
    set_display(b, "none")
    assert b.layout is hidden
    set_display(a, None)
    assert a.layout is shared_layout(width="auto") and b.layout is hidden
    # Any other change: a layout of the widget's own, with the same settings.
    own_layout(a).width = "40%"
    assert (a.layout.width, b.layout.width, shared_layout(width="auto").width) == ("40%", "auto", "auto")
    assert own_layout(a) is a.layout  # already its own: kept
    set_display(a, "none")
    assert a.layout.display == "none" and a.layout.width == "40%"
    set_display(b, None)
    # Presenter view hides an app's secondary widgets, whatever layout they had.
    app = widgets.VBox([a, b])
    view = PresenterView(app, FigureFit(), [b])
    view.set(True)
    assert b.layout.display == "none" and shared_layout(width="auto").display is None
    view.set(False)
    assert b.layout.display is None and b.layout.width == "auto"


def test_a_shared_layout_ignores_a_crafted_update_from_the_page():
    one = styled(widgets.HTML, "one", layout={"width": "50%"})
    other = styled(widgets.HTML, "other", layout={"width": "50%"})
    one.layout._handle_msg({"content": {"data": {"method": "update", "state": {"display": "none"}},
                                        "comm_id": one.layout.model_id}, "buffers": []})
    assert one.layout is other.layout and one.layout.display is None


def test_widgets_with_the_same_settings_share_one_style_and_others_do_not():
    a = styled(widgets.Button, description="a")
    b = styled(widgets.Button, description="b")
    wide = styled(widgets.Button, description="c", style={"button_color": "#eee"})
    assert a.style is b.style
    assert wide.style is not a.style and wide.style.button_color == "#eee"
    assert a.description == "a" and b.description == "b"


def test_a_shared_style_refuses_a_change_from_python():
    slider = styled(widgets.IntSlider, style={"description_width": "initial"})
    with pytest.raises(AttributeError, match="shared style cannot change"):
        slider.style.description_width = "200px"
    assert slider.style.description_width == "initial"


def test_a_shared_style_ignores_a_crafted_update_from_the_page():
    one = styled(widgets.HTML, "one")
    other = styled(widgets.HTML, "other")
    before = one.style.get_state()
    one.style._handle_msg({"content": {"data": {"method": "update",
                                                "state": {"font_size": "90px", "text_color": "red"}},
                                       "comm_id": one.style.model_id}, "buffers": []})
    assert one.style.get_state() == before
    assert other.style is one.style


def test_a_closed_shared_style_is_made_again():
    style = shared_style(widgets.Checkbox.class_traits()["style"].klass, description_width="77px")
    style.close()
    again = styled(widgets.Checkbox, style={"description_width": "77px"}).style
    assert again is not style and again.comm is not None
    assert again.description_width == "77px"


def test_the_module_examples_run_as_written():
    import doctest

    from kmeans_tutor.widgets import shared_styles
    result = doctest.testmod(shared_styles, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 5 and result.failed == 0
