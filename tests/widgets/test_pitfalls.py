"""Lesson 8's predict-first cards."""

from __future__ import annotations

import re

import pytest

from kmeans_tutor.data.pitfalls import PITFALLS
from kmeans_tutor.widgets.pitfalls import pitfall_card, pitfall_question


@pytest.mark.parametrize("pitfall", PITFALLS, ids=lambda p: p.dataset)
def test_the_card_asks_first_and_names_the_assumption_after(pitfall):
    card = pitfall_card(pitfall.dataset)
    c, quiz = card.candidates, card.quiz
    question = quiz.questions[0]
    assert question.options == ("A", "B")
    assert question.options[question.answer] == c.kmeans
    assert pitfall.assumption in question.explanation and pitfall.try_instead in question.explanation
    # A wrong first choice counts as wrong; with one option left, the answer and the
    # assumption are shown at once.
    quiz.select(0, 1 - question.answer)
    assert quiz.model.summary.startswith("0 of 1 right first time")
    assert pitfall.assumption in quiz.feedback(0)
    # Right first time counts as right.
    again = pitfall_card(pitfall.dataset)
    again.quiz.select(0, question.answer)
    assert again.quiz.model.summary.startswith("1 of 1 right first time")
    assert pitfall.assumption in again.quiz.feedback(0)


def test_the_picture_is_inline_with_a_text_alternative_that_keeps_the_answer():
    card = pitfall_card("rings")
    html = card.children[0].value
    assert html.startswith('<img src="data:image/png;base64,')
    alt = re.search(r'alt="([^"]+)"', html).group(1)
    assert "A and B" in alt and "K-means" not in alt


def test_the_question_reads_as_a_prediction():
    from kmeans_tutor.data.pitfalls import candidate_groupings

    q = pitfall_question(candidate_groupings("unequal_sizes"))
    assert q.prompt.endswith("which grouping will K-means find?")


@pytest.mark.parametrize("pitfall", PITFALLS, ids=lambda p: p.dataset)
def test_picture_and_quiz_apart_are_the_card_halves(pitfall):
    """Lesson 8 shows the picture (drawn once per server) and the quiz in two cells."""
    from IPython.display import HTML

    from kmeans_tutor.widgets.pitfalls import pitfall_picture, pitfall_quiz

    card = pitfall_card(pitfall.dataset)
    picture = pitfall_picture(pitfall.dataset)
    assert isinstance(picture, HTML)  # an output, not a widget: it can be drawn in advance
    assert picture.data == card.children[0].value
    quiz = pitfall_quiz(pitfall.dataset)
    assert quiz.questions == card.quiz.questions
    quiz.select(0, quiz.questions[0].answer)
    assert quiz.model.summary.startswith("1 of 1 right first time")


def test_the_quiz_alone_runs_no_kmeans(monkeypatch):
    """The quiz cell runs in every student's kernel: it knows the answer's letter without a fit."""
    from kmeans_tutor.core.estimator import KMeans
    from kmeans_tutor.widgets.pitfalls import pitfall_quiz

    def no_fit(self, *args, **kwargs):
        raise AssertionError("the quiz ran K-means")

    monkeypatch.setattr(KMeans, "fit", no_fit)
    for pitfall in PITFALLS:
        question = pitfall_quiz(pitfall.dataset).questions[0]
        assert question.options[question.answer] == pitfall.kmeans_letter


def test_a_quiz_for_an_unknown_data_set_is_refused_by_name():
    from kmeans_tutor.widgets.pitfalls import pitfall_quiz

    with pytest.raises(ValueError, match="'blobs' is not one of lesson 8's data sets: rings"):
        pitfall_quiz("blobs")
