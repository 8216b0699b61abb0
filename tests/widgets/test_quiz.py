"""Quizzes: feedback, scoring, and "which centre?" answers against brute force."""

import numpy as np
import pytest

pytest.importorskip("ipympl")
pytestmark = pytest.mark.usefixtures("restore_backend")

from kmeans_tutor.data.synthetic import load_dataset
from kmeans_tutor.core.lloyd import run_kmeans
from kmeans_tutor.widgets.quiz import (
    NearestCentreQuestion,
    Question,
    Quiz,
    QuizModel,
    nearest_centre_questions,
    quiz_from,
)




def _brute_force(x, centers):
    """Nearest centre by the textbook rule: argmin of squared distance, first index on ties."""
    d2 = ((np.asarray(centers, float) - np.asarray(x, float)) ** 2).sum(axis=1)
    return int(np.argmin(d2))


QUESTIONS = [
    Question("Inertia as k grows…", ["rises", "never rises"], 1, "More centres, shorter distances."),
    Question("K-means finds k by itself?", ["yes", "no", "sometimes"], 1, "You choose k."),
    Question("Standardise before clustering when…", ["units differ", "never"], 0, "Distances mix units."),
]


# ------------------------------------------------------------------------------- feedback


def test_feedback_right_and_wrong():
    quiz = Quiz(QUESTIONS)
    assert quiz.feedback(0) == ""
    assert quiz.model.summary == "0 of 3 right first time · 0 of 3 answered"
    quiz.select(0, 0)  # two options: a wrong one leaves only the answer, so it is shown
    assert "Not quite" in quiz.feedback(0) and "never rises" in quiz.feedback(0)
    assert "More centres, shorter distances." in quiz.feedback(0)
    quiz._cards[1]._choices.value = 1  # as a click does
    assert "✔ Correct." in quiz.feedback(1) and "You choose k." in quiz.feedback(1)
    assert quiz.model.summary == "1 of 3 right first time · 2 of 3 answered"
    assert "1 of 3 right first time · 2 of 3 answered" in quiz.score_text


def test_a_wrong_answer_gets_a_hint_and_another_try():
    q = Question("K-means finds k by itself?", ["yes", "sometimes", "no"], 2, "You choose k.",
                 hint="Look at what you typed into the app.")
    quiz = Quiz([q, QUESTIONS[2]])
    quiz.select(0, 0)
    first = quiz.feedback(0)
    assert "Not quite" in first and "Look at what you typed into the app." in first
    assert "Try another" in first
    assert "You choose k." not in first and "The answer is" not in first  # not given away
    assert quiz._cards[0]._show.layout.display != "none"  # "show the answer" is offered
    assert quiz.model.solved == (False, False)
    quiz.select(0, 2)  # the second try is accepted
    assert "✔ Correct." in quiz.feedback(0) and "You choose k." in quiz.feedback(0)
    assert quiz.model.solved[0] and quiz._cards[0]._show.layout.display == "none"
    quiz.select(1, 0)
    # Right first time: 1 of 2 (the second question); both answered.
    assert quiz.model.summary == "1 of 2 right first time · 2 of 2 answered"
    assert "1 of 2 right first time · 2 of 2 answered" in quiz.score_text


def test_the_answer_on_request_and_after_the_last_wrong_option():
    q = Question("Pick c", ["a", "b", "c"], 2, "Because c.")
    quiz = Quiz([q, q])
    quiz.select(0, 0)
    quiz.show_answer(0)
    assert "The answer is: c." in quiz.feedback(0) and "Because c." in quiz.feedback(0)
    assert quiz.model.solved[0] and quiz.model.score == 0
    quiz.select(1, 0)
    assert "Hint" in quiz.feedback(1)
    quiz.select(1, 1)  # every wrong option tried: only the answer is left, so it is shown
    assert "The answer is: c." in quiz.feedback(1) and quiz.model.solved[1]


def test_default_hints_and_hints_from_dicts_and_tuples():
    quiz = quiz_from([{"prompt": "p", "options": ["a", "b", "c"], "answer": 0, "hint": "h1"},
                      ("q", ["a", "b", "c"], 1, "why", "h2"),
                      ("r", ["a", "b", "c"], 1)])
    assert [q.hint for q in quiz.questions] == ["h1", "h2", ""]
    quiz.select(2, 0)
    assert "Hint: Look at the picture" in quiz.feedback(2)
    with pytest.raises(TypeError):
        Question("?", ["a", "b"], 0, hint=3)


def test_only_the_first_answer_counts():
    quiz = Quiz(QUESTIONS)
    quiz.select(0, 0)  # wrong first …
    quiz.select(0, 1)  # … then right: feedback says so, the score does not change
    assert "✔ Correct." in quiz.feedback(0)
    assert (quiz.model.score, quiz.model.answered) == (0, 1)
    quiz.select(1, 1)  # right first …
    quiz.select(1, 0)  # … then wrong: still counted right
    assert "Not quite" in quiz.feedback(1)
    quiz.select(2, 0)
    assert (quiz.model.score, quiz.model.answered) == (2, 3)
    assert quiz.model.summary == "2 of 3 right first time · 3 of 3 answered"
    assert quiz.model.first_choices == (0, 1, 0) and quiz.model.choices == (1, 0, 0)


def test_quiz_model_alone():
    m = QuizModel([2, 0])
    assert m.answer(0, 2) is True and m.answer(1, 1) is False
    assert m.is_correct(0) and not m.is_correct(1)
    assert (m.score, m.answered) == (1, 2)
    m.reset()
    assert (m.score, m.answered, m.summary) == (0, 0, "0 of 2 right first time · 0 of 2 answered")
    with pytest.raises(ValueError):
        m.answer(2, 0)
    with pytest.raises(ValueError):
        m.answer(0, -1)


@pytest.mark.parametrize("args, error", [
    (("?", ["only"], 0), ValueError),
    (("?", ["a", "a"], 0), ValueError),
    (("?", ["a", "b"], 2), ValueError),
    (("?", ["a", "b"], True), TypeError),
    (("", ["a", "b"], 0), ValueError),
    (("?", "ab", 0), TypeError),
])
def test_bad_questions_are_named(args, error):
    with pytest.raises(error):
        Question(*args)


def test_prompts_are_shown_as_text_never_run():
    q = Question("<script>alert(1)</script> __import__('os')", ["<b>a</b>", "b"], 0, "<i>x</i>")
    quiz = Quiz([q])
    quiz.select(0, 1)
    html_out = quiz._cards[0]._prompt.value + quiz.feedback(0)
    assert "<script>" not in html_out and "&lt;script&gt;" in html_out
    assert "<i>" not in quiz.feedback(0)


def test_quiz_from_dicts_and_tuples():
    quiz = quiz_from([
        {"prompt": "A?", "options": ["x", "y"], "answer": 1, "explanation": "y."},
        ("B?", ["p", "q", "r"], 2),
        QUESTIONS[0],
    ], title="Check")
    assert [q.answer for q in quiz.questions] == [1, 2, 1]
    with pytest.raises(TypeError):
        quiz_from(["not a question"])
    with pytest.raises(ValueError, match="unknown keys"):
        quiz_from([{"prompt": "A?", "options": ["x", "y"], "answer": 0, "code": "1+1"}])
    with pytest.raises(TypeError):
        Quiz([{"prompt": "A?"}])


# ------------------------------------------------------------------------------- nearest centre


def test_nearest_centre_answers_equal_brute_force(rng):
    X = rng.normal(size=(300, 2))
    C = rng.normal(size=(5, 2))
    for i in range(X.shape[0]):
        q = NearestCentreQuestion(X, C, i)
        assert q.answer == _brute_force(X[i], C)
        np.testing.assert_allclose(q.sq_distances, ((C - X[i]) ** 2).sum(axis=1))
    assert q.options == ("Centre 1", "Centre 2", "Centre 3", "Centre 4", "Centre 5")


@pytest.mark.parametrize("centers, expected", [
    ([[-1.0, 0.0], [1.0, 0.0]], 0),
    ([[1.0, 0.0], [-1.0, 0.0]], 0),  # reorder: still the lowest index
    ([[5.0, 5.0], [0.0, 2.0], [2.0, 0.0], [0.0, -2.0]], 1),  # three-way tie behind a far centre
])
def test_ties_go_to_the_lowest_index(centers, expected):
    X = [[0.0, 0.0], [9.0, 9.0]]
    q = NearestCentreQuestion(X, centers, point=0)
    assert q.answer == expected == _brute_force(X[0], centers)
    assert "tie" in q.explanation and "lowest-numbered centre" in q.explanation
    assert q.is_correct(expected) and not q.is_correct((expected + 1) % len(centers))


def test_centres_from_a_seeding_step_and_bad_input():
    X = load_dataset("blobs").X
    trace = run_kmeans(X, 4, random_state=0)
    seeded = [s for s in trace if s.phase == "seed"][-1]
    q = NearestCentreQuestion(X, seeded, point=10)
    assert q.answer == _brute_force(X[10], seeded.centers)
    with pytest.raises(ValueError, match="exactly 2 features"):
        NearestCentreQuestion(np.zeros((4, 3)), np.zeros((2, 3)), 0)
    with pytest.raises(ValueError, match="between 0 and"):
        NearestCentreQuestion(X, seeded, point=len(X))
    with pytest.raises(ValueError):
        NearestCentreQuestion(X, X[:1], point=0)  # one centre: nothing to choose


def test_generated_questions_mix_easy_and_near_border():
    X = load_dataset("gaussian_mixture").X
    C = run_kmeans(X, 3, random_state=0)[2].centers  # the three seeded centres
    qs = nearest_centre_questions(X, C, n=6, random_state=0)
    assert len({q.point for q in qs}) == 6
    ratios = []
    for q in qs:
        d = np.sort(np.sqrt(q.sq_distances))
        ratios.append(d[0] / d[1])
        assert q.answer == _brute_force(X[q.point], C)
    ratios = np.array(ratios)
    assert np.all(ratios >= 0.25)  # nobody sits on a centre
    assert np.all((ratios[0::2] >= 0.25) & (ratios[0::2] <= 0.6))  # clear ones first
    assert np.all((ratios[1::2] >= 0.8) & (ratios[1::2] <= 0.95))  # then near a border
    again = nearest_centre_questions(X, C, n=6, random_state=0)
    assert [q.point for q in again] == [q.point for q in qs]
    with pytest.raises(ValueError):
        nearest_centre_questions(X, C, n=0)


def test_quiz_accepts_both_kinds_and_reveals_distances():
    X = load_dataset("blobs").X
    C = run_kmeans(X, 4, random_state=0)[3].centers
    qs = nearest_centre_questions(X, C, n=2, random_state=1)
    quiz = Quiz([QUESTIONS[0], *qs])
    card = quiz._cards[1]
    assert card.picture is not None and card.picture.fig.canvas in card.children
    assert quiz._cards[0].picture is None
    assert not any(line.get_visible() for line in card.picture.lines)
    wrong = (qs[0].answer + 1) % 4
    quiz.select(1, wrong)
    assert "Not quite" in quiz.feedback(1) and "Hint" in quiz.feedback(1)
    assert not any(line.get_visible() for line in card.picture.lines)  # distances would tell
    quiz.select(1, qs[0].answer)
    assert "✔ Correct." in quiz.feedback(1) and f"centre {qs[0].answer + 1}" in quiz.feedback(1)
    assert all(line.get_visible() for line in card.picture.lines)
    quiz.select(2, qs[1].answer)
    assert quiz.model.summary == "1 of 3 right first time · 2 of 3 answered"


def _as_kernel(monkeypatch, preheat):
    """Run as a kernel outside Voilà (None) or as one Voilà started (VOILA_PREHEAT=preheat)."""
    if preheat is None:
        monkeypatch.delenv("VOILA_PREHEAT", raising=False)
    else:
        monkeypatch.setenv("VOILA_PREHEAT", preheat)


@pytest.mark.parametrize("page", [None, "False"], ids=["notebook", "running page"])
def test_the_answer_title_is_hidden_until_revealed_and_nothing_is_laid_out_again(page, monkeypatch):
    """The picture's layout makes room for the answer's title once; until the reveal the
    title draws no pixel, after it the title is inside the picture and the axes have not moved."""
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    _as_kernel(monkeypatch, page)
    layouts = []
    original = ConstrainedLayoutEngine.execute
    monkeypatch.setattr(ConstrainedLayoutEngine, "execute",
                        lambda self, fig: layouts.append(fig) or original(self, fig))
    X = load_dataset("blobs").X
    C = run_kmeans(X, 4, random_state=0)[3].centers
    quiz = Quiz(nearest_centre_questions(X, C, n=1, random_state=1))
    picture = quiz._cards[0].picture
    fig = picture.fig

    def pixels():
        fig.canvas.draw()
        return np.asarray(fig.canvas.get_renderer().buffer_rgba()).copy()

    hidden = pixels()
    position = fig.axes[0].get_position().bounds
    text = picture.title.get_text()
    picture.title.set_text("")
    assert np.array_equal(pixels(), hidden)  # no trace of the answer before the reveal
    picture.title.set_text(text)
    quiz.select(0, quiz.questions[0].answer)
    shown = pixels()
    assert not np.array_equal(shown, hidden)
    assert fig.axes[0].get_position().bounds == position
    box = picture.title.get_window_extent(fig.canvas.get_renderer())
    assert box.x0 >= 0 and box.x1 <= fig.bbox.width and box.y1 <= fig.bbox.height  # not cut off
    assert text.startswith(f"Nearest: centre {quiz.questions[0].answer + 1}")
    assert layouts == [fig]  # once, at build or at the first picture


@pytest.mark.parametrize("kernel", [None, "False", "True"],
                         ids=["notebook", "running page", "preheated"])
def test_a_preheated_kernel_has_the_pictures_ready_before_the_page_comes(kernel, monkeypatch):
    """Preheated, each picture is drawn while the lesson runs, and the page's first request
    is answered with it, whole, without drawing again. Elsewhere nothing is drawn until the
    page asks (a page running its lesson would wait for it)."""
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    _as_kernel(monkeypatch, kernel)
    draws = []
    original = FigureCanvasAgg.draw
    monkeypatch.setattr(FigureCanvasAgg, "draw", lambda canvas: draws.append(canvas) or original(canvas))
    X = load_dataset("blobs").X
    C = run_kmeans(X, 4, random_state=0)[3].centers
    quiz = Quiz(nearest_centre_questions(X, C, n=2, random_state=1))
    canvases = [card.picture.fig.canvas for card in quiz._cards]
    assert draws == (canvases if kernel == "True" else [])
    # Nothing sent before the page is there, and no still image its canvas could not load.
    assert all(not c._data_url for c in canvases)
    sent = {id(c): [] for c in canvases}
    for canvas in canvases:  # the page's canvas starts, then asks for its picture
        canvas.syncing_data_url = False
        monkeypatch.setattr(canvas, "send_binary", sent[id(canvas)].append)
        for message in ("refresh", "send_image_mode", "initialized", "draw"):
            canvas._msg_callbacks(canvas, {"type": message}, [])
    assert len(draws) == len(canvases)  # each picture drawn once, ahead or when asked
    for canvas in canvases:
        assert canvas._current_image_mode == "full" and len(sent[id(canvas)]) == 1
        page = np.asarray(Image.open(io.BytesIO(sent[id(canvas)][0])).convert("RGBA"))
        canvas.figure.stale = True
        original(canvas)  # drawn now, from scratch: the same picture
        assert np.array_equal(page, np.asarray(canvas.get_renderer().buffer_rgba()))
