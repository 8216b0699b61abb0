"""Lesson 8's "predict first" cards: two groupings of one data set, then the question.

:func:`pitfall_card` shows groupings A and B of a data set that breaks one assumption of
K-means (:mod:`kmeans_tutor.data.pitfalls`) and asks which one K-means will find. The
answer, once found or asked for, names the assumption that failed and what to try instead.

Its two halves can also be shown apart: :func:`pitfall_picture`, the same for every
student (lesson 8 draws it once per server, in a cell tagged ``static``), and
:func:`pitfall_quiz`, which needs the student's kernel.
"""

from __future__ import annotations

import base64
import html
import io

import ipywidgets as widgets
from IPython.display import HTML

from ..data.pitfalls import Candidates, Pitfall, candidate_groupings, pitfall_named
from ..data.synthetic import DATASETS
from ..views.groupings import groupings_figure
from .quiz import Question, Quiz
from .sending import sent_when_built
from .shared_styles import shared_layout, styled

__all__ = ["pitfall_question", "pitfall_card", "pitfall_picture", "pitfall_quiz"]


def pitfall_question(candidates: Candidates) -> Question:
    """"Which grouping will K-means find?" for one data set's :class:`Candidates`."""
    return _question(pitfall_named(candidates.data.name), candidates.data.title, candidates.k)


def _question(pitfall: Pitfall, title: str, k: int) -> Question:
    """The question of ``pitfall``'s data set (``title``, ``k`` clusters): the answer is the
    letter where K-means' grouping is shown (:attr:`Pitfall.kmeans_letter`)."""
    kmeans, made = pitfall.kmeans_letter, pitfall.made_letter
    letters = ["A", "B"]
    return Question(
        f"{title}, k = {k}: which grouping will K-means find?",
        letters, letters.index(kmeans),
        f"{kmeans} is K-means' answer (best of 10 restarts); {made} shows the "
        f"groups the points were made in. The assumption that fails: {pitfall.assumption}. "
        f"{pitfall.explanation} What to try instead: {pitfall.try_instead}",
        hint="K-means gives every point to its nearest centre, and each centre is the mean of its "
             "group. Which grouping could k such centres make, whatever a person would draw?")


def _describe(candidates: Candidates) -> str:
    """The picture in words, for a screen reader (it must not give the answer away)."""
    return (f"{candidates.data.title}: {len(candidates.data.X)} points drawn twice, as "
            f"groupings A and B, each in {candidates.k} colours and marker shapes.")


def _picture_html(candidates: Candidates) -> str:
    """The groupings picture as an <img>, with its text alternative; it scales with the page,
    so it reads on a projector as well as on a laptop."""
    fig = groupings_figure(candidates)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (f'<img src="data:image/png;base64,{data}" alt="{html.escape(_describe(candidates))}" '
            f'style="width: 100%; max-width: 1320px; height: auto">')


def pitfall_picture(name: str, *, random_state: int = 0) -> HTML:
    """The groupings picture of data set ``name``, to show in a notebook (not a widget)."""
    return HTML(_picture_html(candidate_groupings(name, random_state=random_state)))


def pitfall_quiz(name: str, *, random_state: int = 0) -> Quiz:
    """The one-question quiz of data set ``name``: which grouping will K-means find?

    The question needs only where K-means' answer is shown, which is fixed per data set,
    so no K-means runs here: the fit is the picture's (:func:`pitfall_picture`, drawn
    once per server), and a student's kernel is spared six fits.
    """
    pitfall = pitfall_named(name)
    data = DATASETS[name](random_state=random_state)
    return Quiz([_question(pitfall, data.title, data.suggested_k)])


@sent_when_built
def pitfall_card(name: str, *, random_state: int = 0) -> widgets.VBox:
    """The groupings picture of data set ``name`` and its one-question quiz, in one widget."""
    candidates = candidate_groupings(name, random_state=random_state)
    picture = styled(widgets.HTML, _picture_html(candidates), layout=shared_layout(width="100%"))
    quiz = Quiz([pitfall_question(candidates)])
    card = widgets.VBox([picture, quiz], layout=shared_layout(width="100%"))
    card.candidates = candidates
    card.quiz = quiz
    return card
