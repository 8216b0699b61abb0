"""pandas stays out of a lesson kernel until a table is asked for.

Importing pandas costs a kernel about 0.2 s of CPU and 32 MB. The apps the
lessons build on bundled data (the Mall customers, the synthetic sets, the
photo) draw from numpy arrays only, so each is built here in a fresh Python
and pandas must not be loaded afterwards. The Mall numbers the apps read
without pandas must be the very numbers of ``load_mall_customers()``.
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kmeans_tutor import elbow, load_dataset, load_mall_customers
from kmeans_tutor.core.choosing import elbow_scores
from kmeans_tutor.core.validation import is_dataframe, is_series
from kmeans_tutor.data.mall import MALL_COLUMNS, MALL_FEATURES, mall_columns
from kmeans_tutor.data.preprocessing import Standardizer
from kmeans_tutor.data.resolver import dataset_choices, resolve_data
from kmeans_tutor.data.synthetic import list_datasets

ROOT = Path(__file__).resolve().parents[1]
INCOME_SCORE = '("Annual Income (k$)", "Spending Score (1-100)")'

# The apps as the lessons build them (lessons/0*.ipynb), one fresh Python each.
LESSON_APPS = {
    "package": "import kmeans_tutor",
    "stepper_mall": "from kmeans_tutor.widgets.stepper import StepperApp\n"
                    f"StepperApp(dataset='mall', features={INCOME_SCORE}, k=5, seed=0, scaled=True)",
    "stepper_mall_age": "from kmeans_tutor.widgets.stepper import StepperApp\n"
                        "StepperApp(dataset='mall', features=('Age', 'Annual Income (k$)'), k=4, seed=0, "
                        "scaled=False)",
    "stepper_predict": "from kmeans_tutor.widgets.stepper import StepperApp\n"
                       "StepperApp(dataset='gaussian_mixture', k=3, init='k-means++', seed=0, predict=True)",
    "stepper_rings": "from kmeans_tutor.widgets.stepper import StepperApp\n"
                     "StepperApp(dataset='rings', k=3, init='k-means++', seed=0, scaled=False)",
    "compare": "from kmeans_tutor.widgets.compare import CompareApp\n"
               f"CompareApp(dataset='mall', features={INCOME_SCORE}, k=5, seed=5)",
    "challenge": "from kmeans_tutor.widgets.challenge import ChallengeApp\n"
                 f"ChallengeApp(dataset='mall', features={INCOME_SCORE}, k=5)",
    "choose_k": "from kmeans_tutor.widgets.choose_k import ChooseKApp\n"
                f"ChooseKApp(dataset='mall', features={INCOME_SCORE}, scaled=True, k_max=10, seed=0)",
    "pitfalls": "from kmeans_tutor.widgets.pitfalls import pitfall_card\n"
                "for name in ['rings', 'anisotropic', 'unequal_variance', 'unequal_sizes', 'smiley',\n"
                "             'density_bars']:\n"
                "    pitfall_card(name)",
    "segments": "from kmeans_tutor.widgets.segments import SegmentsApp\n"
                f"app = SegmentsApp(k=5, features={INCOME_SCORE}, scaled=True, seed=0)\n"
                "app._k.value, app._seed.value, app.data_row._scaled.value = 4, 3, False\n"
                "app.feature_boxes['Age'].value = True\n"
                "assert 'Age' in app.model.features and app.download_html",
    "quantise": "from kmeans_tutor.widgets.quantise import QuantiseApp\n"
                "QuantiseApp(k=8, init='k-means++', seed=0)",
    "quiz": "from kmeans_tutor.core.lloyd import run_kmeans\n"
            "from kmeans_tutor.data.resolver import resolve_data\n"
            "from kmeans_tutor.widgets.quiz import Question, Quiz, nearest_centre_questions\n"
            "Quiz([Question('Which?', ['a', 'b'], 1, 'Because.', hint='Think.')])\n"
            "X = resolve_data('mall').X\n"
            "Quiz(nearest_centre_questions(X, run_kmeans(X, 5, init='k-means++', random_state=0)[4],\n"
            "                              n=3, random_state=0))",
}

_CHECK = """
import json, sys
{code}
print(json.dumps("pandas" in sys.modules))
"""


@pytest.mark.parametrize("name", sorted(LESSON_APPS))
def test_building_a_lesson_app_on_bundled_data_does_not_import_pandas(name):
    proc = subprocess.run([sys.executable, "-c", _CHECK.format(code=LESSON_APPS[name])],
                          capture_output=True, text=True, cwd=ROOT, timeout=240)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) is False, f"{name} imported pandas"


def test_pandas_objects_are_recognised(mall):
    assert is_dataframe(mall) and not is_series(mall)
    assert is_series(mall["Age"]) and not is_dataframe(mall["Age"])
    for other in ([[1.0, 2.0]], np.zeros((2, 2)), {"Age": [1, 2]}, None):
        assert not is_dataframe(other) and not is_series(other)


# ------------------------------------------------------------------ the numbers without pandas


def test_mall_columns_are_the_columns_of_load_mall_customers(mall):
    columns = mall_columns()
    assert list(columns) == ["CustomerID", *MALL_COLUMNS]
    np.testing.assert_array_equal(columns["CustomerID"], mall.index.to_numpy())
    assert columns["CustomerID"].dtype == mall.index.dtype == np.int64
    assert columns["Gender"].tolist() == mall["Gender"].tolist()
    for name in MALL_FEATURES:
        np.testing.assert_array_equal(columns[name], mall[name].to_numpy(), strict=True)
    assert all(not c.flags.writeable for c in columns.values())
    assert mall_columns()["Age"] is columns["Age"]  # read once per process


@pytest.mark.parametrize("scaled", [True, False])
@pytest.mark.parametrize("features", [("Annual Income (k$)", "Spending Score (1-100)"),
                                      ("Age", "Annual Income (k$)"), MALL_FEATURES])
def test_mall_choice_equals_the_dataframe_path(mall, features, scaled):
    data = resolve_data("mall", features, scaled=scaled)
    raw = mall[list(features)].to_numpy(dtype=np.float64)
    np.testing.assert_array_equal(data.raw, raw)
    expected = Standardizer().fit_transform(raw) if scaled else raw
    np.testing.assert_array_equal(data.X, expected)
    assert data.frame.equals(mall) and data.as_read is data.frame


@pytest.mark.parametrize("name", ["blobs", "gaussian_mixture", "rings"])
def test_synthetic_choice_equals_its_frame(name):
    data = resolve_data(name)
    frame = load_dataset(name, random_state=0).to_frame()
    np.testing.assert_array_equal(data.X, frame[list(data.feature_names)].to_numpy())
    assert data.frame.equals(frame[list(data.feature_names)])


def test_dataset_choices_follow_list_datasets():
    table = list_datasets()
    assert dataset_choices()[1:] == list(zip(table["title"], table["name"]))


def test_elbow_scores_are_the_elbow_table():
    X = mall_columns()["Annual Income (k$)"].reshape(-1, 1).astype(float)
    scores = elbow_scores(X, range(1, 5), n_init=2, random_state=0)
    table = elbow(X, range(1, 5), n_init=2, random_state=0)
    assert list(scores) == list(table.columns)
    for column in ("k", "inertia", "silhouette"):
        np.testing.assert_array_equal(scores[column], table[column].to_numpy(), strict=True)
