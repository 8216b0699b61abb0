"""Quick checks with instant feedback: multiple choice, and "which centre?".

Two kinds of question:

- :class:`Question` — a prompt, options, the index of the right one, an
  explanation and (optionally) a hint.
- :class:`NearestCentreQuestion` — data, centres and one highlighted point:
  "which centre will this point join?". The answer is computed with the
  algorithm's own assignment kernel (argmin of squared distance, ties to the
  lowest index), so the quiz can never disagree with K-means.
  :func:`nearest_centre_questions` picks several points, mixing clear cases
  with points near a border.

:class:`Quiz` (an ``ipywidgets.VBox``) shows any mix of the two, gives
feedback on every choice and keeps a running score in a
:class:`QuizModel` (traitlets, no widgets).

Feedback teaches: a wrong choice gets the question's hint and another try;
the answer and its explanation appear once the learner finds it, asks for it
("show the answer"), or has only the right option left.

Scoring rule: **the first answer to each question is the one that counts.**
Later tries are how the learner finds the answer, and the score keeps the
first choice. The score line says both counts in words: "2 of 3 right first
time · 3 of 3 answered".

Nothing a learner does is ever evaluated as code: choices are option
indices, checked against stored answers.

>>> from kmeans_tutor.widgets.quiz import Question, QuizModel
>>> q = Question("Inertia as k grows…", ["rises", "never rises"], 1, "More centres, shorter distances.")
>>> model = QuizModel([q.answer, 0])
>>> model.answer(0, 0), model.answer(0, 1), model.summary
(False, True, '0 of 2 right first time · 1 of 2 answered')
"""

from __future__ import annotations

import html
import numbers
from dataclasses import dataclass, field
from typing import Sequence

import ipywidgets as widgets
import numpy as np
from traitlets import HasTraits, Int, Tuple, Unicode

from ..core.kernels import distances, nearest_centers
from ..core.validation import check_array, check_random_state
from ..views.palette import cluster_style, edge_color
from ..views.step_views import data_limits
from .base import quiet
from .figure import app_figure, draw_ahead, freeze_layout, refresh
from .sending import sent_when_built
from .shared_styles import set_display, shared_layout, styled

__all__ = ["Question", "NearestCentreQuestion", "nearest_centre_questions", "QuizModel", "Quiz",
           "quiz_from"]


# ------------------------------------------------------------------------------- questions


def _check_index(value, name: str, n: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a whole number (an option index), got {value!r}.")
    if not 0 <= int(value) < n:
        raise ValueError(f"{name} must be between 0 and {n - 1}, got {value}.")
    return int(value)


@dataclass(frozen=True)
class Question:
    """A multiple-choice question.

    Parameters
    ----------
    prompt : str
        The question (plain text; shown escaped).
    options : sequence of str
        At least two distinct options.
    answer : int
        Index of the right option (0-based).
    explanation : str, default=""
        Why: shown with the answer (once found, asked for, or the last option left).
    hint : str, default=""
        A nudge shown after a wrong choice, without giving the answer away
        (default: a general one: "Look at the picture again…").

    Examples
    --------
    >>> q = Question("K-means needs k in advance?", ["yes", "no"], 0, hint="Who picks k?")
    >>> q.is_correct(0), q.options
    (True, ('yes', 'no'))
    """

    prompt: str
    options: tuple
    answer: int
    explanation: str = ""
    hint: str = ""

    def __post_init__(self):
        if not isinstance(self.prompt, str) or not self.prompt.strip():
            raise ValueError("A question needs a prompt (non-empty text).")
        if isinstance(self.options, (str, bytes)) or not hasattr(self.options, "__iter__"):
            raise TypeError(f"options must be a list of texts, got {self.options!r}.")
        options = tuple(str(o) for o in self.options)
        if len(options) < 2:
            raise ValueError(f"A multiple-choice question needs at least 2 options, got {len(options)}.")
        if len(set(options)) != len(options):
            raise ValueError(f"Options must be distinct; got {options!r}.")
        object.__setattr__(self, "options", options)
        object.__setattr__(self, "answer", _check_index(self.answer, "answer", len(options)))
        if not isinstance(self.explanation, str):
            raise TypeError(f"explanation must be text, got {type(self.explanation).__name__}.")
        if not isinstance(self.hint, str):
            raise TypeError(f"hint must be text, got {type(self.hint).__name__}.")

    def is_correct(self, choice: int) -> bool:
        """Whether option ``choice`` (an index) is the right one."""
        return _check_index(choice, "choice", len(self.options)) == self.answer

    def feedback(self, choice: int, *, reveal: bool = True) -> str:
        """Plain-text feedback for option ``choice``.

        ``reveal=False``: a wrong choice gets the hint and "try another", not the answer.
        """
        return _feedback(self, choice, reveal=reveal)


_GENERAL_HINT = "Look at the picture and the text above again, then try another option."


def _feedback(question, choice: int, *, reveal: bool = True) -> str:
    if question.is_correct(choice):
        return f"✔ Correct. {question.explanation}".strip()
    if not reveal:
        return (f"✘ Not quite: “{question.options[choice]}” is not it. Hint: "
                f"{question.hint or _GENERAL_HINT} Try another option.")
    return f"✘ Not quite. The answer is: {question.options[question.answer]}. {question.explanation}".strip()


def _answer_text(question) -> str:
    """The answer and why, for a learner who asked to see it."""
    return f"The answer is: {question.options[question.answer]}. {question.explanation}".strip()


def _check_centers(centers, d: int) -> np.ndarray:
    """Centres as a float64 (k, d) array; a Step gives its ``centers``."""
    centers = getattr(centers, "centers", centers)  # a SeedStep / AssignStep / ... carries them
    C, _ = check_array(centers, name="centers", min_samples=2)
    if C.shape[1] != d:
        raise ValueError(f"centers have {C.shape[1]} features but X has {d}.")
    return C


@dataclass(frozen=True, eq=False)
class NearestCentreQuestion:
    """"Which centre will this point join?" for one point of X.

    Parameters
    ----------
    X : array-like of shape (n_samples, 2)
        The data (two features, so the picture shows the true distances).
    centers : array-like of shape (n_clusters, 2), or a Step
        The centres, e.g. the last seeding step of a seeded run
        (``run_kmeans(X, k, random_state=0)[k - 1]``); at least 2.
    point : int
        Row of X to ask about.
    prompt : str, optional
        Default: "Which centre will the circled point join?".
    hint : str, optional
        Shown after a wrong choice. Default: compare the distances, not the colours.

    Attributes
    ----------
    options : tuple of str
        "Centre 1" … "Centre k": centre j (0-based) is option j.
    answer : int
        The centre the next assign step gives the point: argmin over j of
        ``||x - c_j||²``, ties to the lowest j — computed by the algorithm's
        own assignment kernel.
    sq_distances : ndarray of shape (n_clusters,)
        ``||x - c_j||²`` for every centre.
    explanation : str
        The distances, and the rule.

    Examples
    --------
    >>> q = NearestCentreQuestion([[0, 0], [4, 0], [1, 0]], [[0, 0], [4, 0]], point=2)
    >>> q.answer, q.options
    (0, ('Centre 1', 'Centre 2'))
    >>> NearestCentreQuestion([[0, 0], [2, 0]], [[-1, 0], [1, 0]], point=0).answer  # a tie
    0
    """

    X: np.ndarray
    centers: np.ndarray
    point: int
    prompt: str = "Which centre will the circled point join?"
    hint: str = ("K-means gives a point to the centre nearest to it in a straight line. Compare "
                 "the distances from the circled point to each numbered centre.")
    options: tuple = field(init=False)
    answer: int = field(init=False)
    sq_distances: np.ndarray = field(init=False, repr=False)
    explanation: str = field(init=False, repr=False)

    def __post_init__(self):
        X, _ = check_array(self.X, min_samples=1)
        if X.shape[1] != 2:
            raise ValueError(f"X must have exactly 2 features so that the picture shows the "
                             f"distances K-means uses; it has {X.shape[1]}. Pick two features "
                             f"(or project the data) first.")
        C = _check_centers(self.centers, X.shape[1])
        i = _check_index(self.point, "point", X.shape[0])
        x = np.ascontiguousarray(X[i:i + 1])
        answer = int(nearest_centers(x, np.ascontiguousarray(C))[0])  # the algorithm's own rule
        sq = np.einsum("kd,kd->k", C - x, C - x)
        for name, value in (("X", X), ("centers", C), ("sq_distances", sq)):
            value = np.array(value)
            value.flags.writeable = False
            object.__setattr__(self, name, value)
        object.__setattr__(self, "point", i)
        object.__setattr__(self, "answer", answer)
        object.__setattr__(self, "options", tuple(f"Centre {j + 1}" for j in range(C.shape[0])))
        object.__setattr__(self, "explanation", self._explain())

    def _explain(self) -> str:
        sq, a = self.sq_distances, self.answer
        parts = ", ".join(f"centre {j + 1}: {_num(v)}" for j, v in enumerate(sq))
        text = (f"Squared distances from the point — {parts}. The nearest is centre {a + 1}, so "
                f"the next assign step puts the point in its cluster.")
        tied = np.flatnonzero(np.isclose(sq, sq[a], rtol=1e-12, atol=0.0))
        if tied.size > 1:
            names = " and ".join(f"centre {j + 1}" for j in tied)
            text += (f" It is a tie between {names}: K-means breaks ties by giving the point to "
                     f"the lowest-numbered centre.")
        return text

    @property
    def n_clusters(self) -> int:
        return self.centers.shape[0]

    def is_correct(self, choice: int) -> bool:
        return _check_index(choice, "choice", len(self.options)) == self.answer

    def feedback(self, choice: int, *, reveal: bool = True) -> str:
        return _feedback(self, choice, reveal=reveal)


def _num(v: float) -> str:
    return f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}"


def nearest_centre_questions(X, centers, n=4, random_state=0, *, easy=(0.25, 0.6),
                             hard=(0.8, 0.95)) -> list[NearestCentreQuestion]:
    """Several "which centre?" questions about well-chosen points.

    Every point gets a closeness ratio ``r = d₁ / d₂`` (distance to its
    nearest centre over distance to the second nearest): near 0 it sits on
    a centre (trivial, never asked), near 1 it sits on a border. Half the
    questions (rounded down) are near-border points (``r`` in ``hard``),
    the rest clear ones (``r`` in ``easy``), alternating from a clear one.
    When a band has too few points, the others fill in from the nearest
    ratios outside it (still never below ``easy[0]``).

    Parameters
    ----------
    X : array-like of shape (n_samples, 2)
    centers : array-like of shape (n_clusters, 2), or a Step
    n : int, default=4
        Number of questions (distinct points).
    random_state : None, int or numpy.random.Generator, default=0
    easy, hard : (float, float)
        Ranges of ``r`` for clear and near-border points.

    Returns
    -------
    list of NearestCentreQuestion

    Examples
    --------
    >>> from kmeans_tutor import load_dataset
    >>> X = load_dataset("blobs").X
    >>> qs = nearest_centre_questions(X, X[[0, 100, 200]], n=4, random_state=1)
    >>> len(qs), len({q.point for q in qs})
    (4, 4)
    """
    X, _ = check_array(X, min_samples=1)
    C = _check_centers(centers, X.shape[1])
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"n must be a positive whole number of questions, got {n!r}.")
    for name, (lo, hi) in (("easy", easy), ("hard", hard)):
        if not 0 <= lo < hi <= 1:
            raise ValueError(f"{name} must be a range (low, high) within [0, 1], got {(lo, hi)!r}.")
    rng, _ = check_random_state(random_state)

    # Distance to the nearest and second-nearest centre of every point.
    d = distances(X, C)  # (n, k)
    d.sort(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(d[:, 1] > 0, d[:, 0] / d[:, 1], 1.0)
    # One question per distinct location (duplicate points would repeat a question).
    _, first = np.unique(X, axis=0, return_index=True)
    eligible = np.zeros(X.shape[0], dtype=bool)
    eligible[first] = True
    eligible &= r >= easy[0]
    if eligible.sum() < n:
        raise ValueError(f"Only {int(eligible.sum())} points are not sitting on a centre; "
                         f"cannot ask {n} questions.")

    n_hard = n // 2
    chosen: list[int] = []

    def take(count, lo, hi):
        pool = np.flatnonzero(eligible & (r >= lo) & (r <= hi))
        pool = pool[~np.isin(pool, chosen)]
        picked = list(rng.permutation(pool)[:count])
        if len(picked) < count:  # top up with the ratios closest to the band
            rest = np.flatnonzero(eligible)
            rest = rest[~np.isin(rest, chosen + picked)]
            gap = np.maximum(lo - r[rest], r[rest] - hi)
            picked += list(rest[np.argsort(gap, kind="stable")][:count - len(picked)])
        chosen.extend(int(i) for i in picked)
        return [int(i) for i in picked]

    hard_rows = take(n_hard, *hard)
    easy_rows = take(n - n_hard, *easy)
    order = []
    for j in range(n):
        source = easy_rows if j % 2 == 0 else hard_rows
        if not source:
            source = hard_rows or easy_rows
        order.append(source.pop(0))
    return [NearestCentreQuestion(X, C, i) for i in order]


# ------------------------------------------------------------------------------- model


class QuizModel(HasTraits):
    """Answers and score of a quiz, without widgets.

    Parameters
    ----------
    answers : sequence of int
        The right option index of every question.

    Attributes
    ----------
    correct : tuple of int
        The right answers.
    choices : tuple of (int or None)
        The latest choice per question (None: not answered yet).
    first_choices : tuple of (int or None)
        The first choice per question: the one that counts.
    tried : tuple of frozenset
        Every option chosen so far, per question.
    solved : tuple of bool
        The answer is on screen: found, asked for, or the last option left.
    score : int
        Questions whose first choice was right.
    answered : int
        Questions answered at least once.
    summary : str
        "2 of 3 right first time · 3 of 3 answered".

    Examples
    --------
    >>> m = QuizModel([1, 0])
    >>> m.answer(0, 1), m.answer(1, 1), m.answer(1, 0)   # a second try finds it, but doesn't score
    (True, False, True)
    >>> m.score, m.answered, m.summary
    (1, 2, '1 of 2 right first time · 2 of 2 answered')
    """

    correct = Tuple()
    choices = Tuple()
    first_choices = Tuple()
    tried = Tuple()
    solved = Tuple()
    score = Int(0)
    answered = Int(0)
    summary = Unicode("")

    def __init__(self, answers: Sequence[int]):
        super().__init__()
        answers = tuple(answers)
        for i, a in enumerate(answers):
            if isinstance(a, (bool, np.bool_)) or not isinstance(a, numbers.Integral) or a < 0:
                raise ValueError(f"answers[{i}] must be an option index (0, 1, …), got {a!r}.")
        self.correct = tuple(int(a) for a in answers)
        self.reset()

    @property
    def n_questions(self) -> int:
        return len(self.correct)

    def reset(self):
        """Forget every answer."""
        n = self.n_questions
        self.choices = (None,) * n
        self.first_choices = (None,) * n
        self.tried = (frozenset(),) * n
        self.solved = (False,) * n
        self._update()

    def answer(self, question: int, choice: int) -> bool:
        """Record ``choice`` for ``question``; return whether it is right.

        Only the first answer to a question changes the score; a right choice
        marks the question solved.
        """
        i = _check_index(question, "question", self.n_questions)
        if isinstance(choice, (bool, np.bool_)) or not isinstance(choice, numbers.Integral) or choice < 0:
            raise ValueError(f"choice must be an option index (0, 1, …), got {choice!r}.")
        choice = int(choice)
        right = choice == self.correct[i]
        with self.hold_trait_notifications():
            self.choices = _put(self.choices, i, choice)
            self.tried = _put(self.tried, i, self.tried[i] | {choice})
            if self.first_choices[i] is None:
                self.first_choices = _put(self.first_choices, i, choice)
            if right:
                self.solved = _put(self.solved, i, True)
            self._update()
        return right

    def reveal(self, question: int):
        """The learner asked to see the answer of ``question`` (the score is unchanged)."""
        i = _check_index(question, "question", self.n_questions)
        self.solved = _put(self.solved, i, True)

    def is_correct(self, question: int) -> bool | None:
        """Whether the latest choice for ``question`` is right (None if unanswered)."""
        c = self.choices[_check_index(question, "question", self.n_questions)]
        return None if c is None else c == self.correct[question]

    def _update(self):
        firsts = [(c, a) for c, a in zip(self.first_choices, self.correct) if c is not None]
        self.answered = len(firsts)
        self.score = sum(c == a for c, a in firsts)
        n = self.n_questions
        self.summary = f"{self.score} of {n} right first time · {self.answered} of {n} answered"


def _put(values: tuple, i: int, value) -> tuple:
    """``values`` with item ``i`` replaced (traits hold tuples: a new one notifies)."""
    return values[:i] + (value,) + values[i + 1:]


# ------------------------------------------------------------------------------- view


class _CentrePicture:
    """A small figure of a NearestCentreQuestion: data in grey, numbered
    centres in cluster colours and shapes, the point circled; distances
    revealed after an answer. Built once; ``reveal`` only changes visibility."""

    def __init__(self, question: NearestCentreQuestion, figsize=(3.8, 3.3)):
        self.question = q = question
        self.fig = fig = app_figure(figsize)
        ax = fig.add_subplot()
        (x0, x1), (y0, y1) = data_limits(q.X, q.centers, pad=0.08)
        ax.plot(q.X[:, 0], q.X[:, 1], ls="none", marker="o", ms=3, mfc="#c8c8c8", mec="#9a9a9a",
                mew=0.3, zorder=1)
        p = q.X[q.point]
        span = max(x1 - x0, y1 - y0)
        self.lines, self.texts = [], []
        for j, c in enumerate(q.centers):
            nearest = j == q.answer
            line, = ax.plot([p[0], c[0]], [p[1], c[1]], color="black" if nearest else "0.45",
                            ls="-" if nearest else "--", lw=1.8 if nearest else 1.0, zorder=2,
                            visible=False)
            self.lines.append(line)
            if np.hypot(*(c - p)) > 0.15 * span:  # a short segment has no room for a label
                mid = (p + c) / 2
                self.texts.append(ax.text(
                    mid[0], mid[1], _num(q.sq_distances[j]), fontsize=8, ha="center", va="center",
                    zorder=5, visible=False,
                    bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.8)))
        for j, c in enumerate(q.centers):
            colour, marker = cluster_style(j)
            ax.plot([c[0]], [c[1]], ls="none", marker=marker, ms=15, mfc=colour, mec="black",
                    mew=1.6, zorder=4)
            ax.annotate(str(j + 1), (c[0], c[1]), xytext=(10, 8), textcoords="offset points",
                        fontsize=11, fontweight="bold", color=edge_color(colour, 0.8), zorder=7,
                        bbox=dict(boxstyle="round,pad=0.15", fc="white", ec=colour, alpha=0.9))
        ax.plot([p[0]], [p[1]], ls="none", marker="o", ms=5, mfc="black", mec="black", zorder=4)
        ax.plot([p[0]], [p[1]], ls="none", marker="o", ms=18, mfc="none", mec="black", mew=2.0,
                zorder=4)
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_aspect("equal", adjustable="box")  # distances on screen = distances K-means uses
        ax.tick_params(labelsize=7)
        # The answer's title is there from the start, fully transparent until the reveal:
        # the layout makes room for it once, and no picture is laid out again.
        self.title = ax.set_title(f"Nearest: centre {q.answer + 1} (squared distance "
                                  f"{_num(q.sq_distances[q.answer])})", fontsize=9, alpha=0.0)
        self.ax = ax
        freeze_layout(fig)
        draw_ahead(fig)

    def reveal(self):
        for a in (*self.lines, *self.texts):
            a.set_visible(True)
        self.title.set_alpha(1.0)
        refresh(self.fig)


class _QuestionCard(widgets.VBox):
    """One question: prompt, optional picture, options, feedback, and "show the answer"."""

    def __init__(self, number: int, question):
        super().__init__(layout=shared_layout(border="1px solid #ddd", padding="6px",
                                               margin="4px 0"))
        self.question = question
        self.picture = _CentrePicture(question) if isinstance(question, NearestCentreQuestion) else None
        self._prompt = styled(widgets.HTML, f"<b>Q{number}.</b> {html.escape(question.prompt)}")
        self._choices = styled(widgets.RadioButtons, options=[(o, j) for j, o in enumerate(question.options)],
                                                     index=None, tooltip="Choose one answer",
                                                     layout=shared_layout(width="auto"))
        self._feedback = styled(widgets.HTML)
        self._feedback.add_class("kt-quiz-feedback")
        self._show = styled(widgets.Button, description="show the answer", icon="eye",
                                            tooltip="Give up on this question and see the answer and why",
                                            layout=shared_layout(width="max-content", display="none"))
        self._show.add_class("kt-quiz-show")
        parts = [self._prompt]
        if self.picture is not None:
            parts.append(self.picture.fig.canvas)
        self.children = [*parts, self._choices, self._feedback, self._show]

    def show_feedback(self, choice: int, *, solved: bool):
        """Feedback for ``choice``: the answer and why once solved, else the hint."""
        q = self.question
        ok = q.is_correct(choice)
        colour = "#1b7837" if ok else "#b2182b"
        text = q.feedback(choice, reveal=solved)
        self._set_feedback(text, colour)
        set_display(self._show, "none" if solved else None)
        if solved and self.picture is not None:
            self.picture.reveal()

    def show_answer(self):
        """The answer and why, asked for by the learner."""
        self._set_feedback(_answer_text(self.question), "#0b5394")
        set_display(self._show, "none")
        if self.picture is not None:
            self.picture.reveal()

    def _set_feedback(self, text: str, colour: str):
        self._feedback.value = (f"<div role='status' aria-live='polite' style='color:{colour}'>"
                                f"{html.escape(text)}</div>")


class Quiz(widgets.VBox):
    """Multiple-choice questions with instant feedback and a running score.

    Parameters
    ----------
    questions : sequence of Question or NearestCentreQuestion
    title : str, optional
        A heading above the questions.

    Attributes
    ----------
    questions : tuple
    model : QuizModel
        Choices and score (see the module docstring for the scoring rule:
        the first answer to each question counts).

    A wrong choice shows the question's hint and leaves the options open for
    another try, with a "show the answer" button; the answer and explanation
    appear when the right option is chosen, when asked for, or when only the
    right option is left.

    Examples
    --------
    >>> quiz = Quiz([Question("2 + 2?", ["3", "4", "5"], 1, "Count them.", hint="Use fingers.")])
    >>> quiz.select(0, 0); "Use fingers." in quiz.feedback(0)
    True
    >>> quiz.select(0, 1); quiz.model.summary
    '0 of 1 right first time · 1 of 1 answered'
    """

    @sent_when_built
    def __init__(self, questions, *, title=None, **kwargs):
        super().__init__(**kwargs)
        questions = tuple(questions)
        if not questions:
            raise ValueError("A quiz needs at least one question.")
        for i, q in enumerate(questions):
            if not isinstance(q, (Question, NearestCentreQuestion)):
                raise TypeError(f"questions[{i}] is a {type(q).__name__}; use Question or "
                                f"NearestCentreQuestion (or quiz_from for dicts and tuples).")
        self.questions = questions
        self.model = QuizModel([q.answer for q in questions])
        self._cards = [_QuestionCard(i + 1, q) for i, q in enumerate(questions)]
        self._score = styled(widgets.HTML)
        self._score.add_class("kt-quiz-score")
        self._show_score()
        header = [styled(widgets.HTML, f"<h4>{html.escape(title)}</h4>")] if title else []
        self.children = [*header, *self._cards, self._score]
        self._wire()

    def _wire(self):
        """Every handler, in one place."""
        for i, card in enumerate(self._cards):
            card._choices.observe(quiet(lambda change, i=i: self._on_choice(i, change)), names="value")
            card._show.on_click(quiet(lambda _, i=i: self.show_answer(i)))
        self.model.observe(quiet(lambda change: self._show_score()), names="summary")

    def _on_choice(self, i: int, change):
        choice = change["new"]
        if choice is None:  # deselected from code
            return
        m = self.model
        m.answer(i, int(choice))
        untried = set(range(len(self.questions[i].options))) - m.tried[i]
        if untried == {m.correct[i]}:  # only the right option is left: no guessing game
            m.reveal(i)
        self._cards[i].show_feedback(int(choice), solved=m.solved[i])

    def show_answer(self, question: int):
        """Show the answer and why of ``question``, as its "show the answer" button does."""
        i = _check_index(question, "question", len(self._cards))
        self.model.reveal(i)
        self._cards[i].show_answer()

    def _show_score(self):
        self._score.value = f"<b>Score:</b> {html.escape(self.model.summary)}"

    def select(self, question: int, choice: int):
        """Choose option ``choice`` of ``question`` as a click would (for lessons and tests)."""
        i = _check_index(question, "question", len(self._cards))
        j = _check_index(choice, "choice", len(self.questions[i].options))
        self._cards[i]._choices.value = j

    def feedback(self, question: int) -> str:
        """The feedback HTML shown under ``question`` ("" before an answer)."""
        return self._cards[_check_index(question, "question", len(self._cards))]._feedback.value

    @property
    def score_text(self) -> str:
        return self._score.value


def quiz_from(questions, *, title=None) -> Quiz:
    """A :class:`Quiz` from Questions, dicts or tuples.

    Each item is a :class:`Question` or :class:`NearestCentreQuestion`, a dict
    with keys ``prompt``, ``options``, ``answer`` and optional
    ``explanation`` and ``hint``, or a tuple
    ``(prompt, options, answer[, explanation[, hint]])``.

    >>> quiz = quiz_from([("Is k chosen by K-means?", ["yes", "no"], 1, "You choose it.")])
    >>> quiz.questions[0].answer
    1
    """
    items = []
    for i, q in enumerate(questions):
        if isinstance(q, (Question, NearestCentreQuestion)):
            items.append(q)
        elif isinstance(q, dict):
            unknown = set(q) - {"prompt", "options", "answer", "explanation", "hint"}
            if unknown:
                raise ValueError(f"questions[{i}] has unknown keys {sorted(unknown)}; use prompt, "
                                 f"options, answer, explanation, hint.")
            items.append(Question(**q))
        elif isinstance(q, tuple) and 3 <= len(q) <= 5:
            items.append(Question(*q))
        else:
            raise TypeError(f"questions[{i}] must be a Question, a dict or a tuple "
                            f"(prompt, options, answer[, explanation[, hint]]); got {type(q).__name__}.")
    return Quiz(items, title=title)
