"""Lesson 8's data: two groupings per data set, K-means' answer one of them."""

from __future__ import annotations

from itertools import permutations

import numpy as np
import pytest

from kmeans_tutor import KMeans
from kmeans_tutor.data.pitfalls import PITFALLS, candidate_groupings
from kmeans_tutor.data.synthetic import DATASETS

NAMES = [p.dataset for p in PITFALLS]


def agreement(a, b) -> float:
    """Share of points grouped alike, under the best matching of group numbers."""
    k = int(max(a.max(), b.max())) + 1
    return max(np.mean(np.asarray(p)[a] == b) for p in permutations(range(k)))


@pytest.mark.parametrize("name", NAMES)
def test_two_groupings_and_which_is_which(name):
    c = candidate_groupings(name)
    assert list(c.groupings) == ["A", "B"] and {c.kmeans, c.made} == {"A", "B"}
    n = len(c.data.X)
    for labels in c.groupings.values():
        assert labels.shape == (n,) and set(np.unique(labels)) == set(range(c.k))
    model = KMeans(c.k, n_init=10, random_state=0).fit(DATASETS[name](random_state=0).X)
    np.testing.assert_array_equal(c.groupings[c.kmeans], model.labels_)
    assert c.inertia == pytest.approx(model.inertia_)
    np.testing.assert_array_equal(c.groupings[c.made], c.data.y)


@pytest.mark.parametrize("name", NAMES)
def test_kmeans_really_misses_the_groups_the_points_were_made_in(name):
    """Every data set of the lesson shows a visible mistake (else the question is a trick)."""
    c = candidate_groupings(name)
    assert agreement(c.groupings[c.kmeans], c.groupings[c.made]) < 0.95


def test_the_answer_is_not_always_in_the_same_place():
    assert len({candidate_groupings(name).kmeans for name in NAMES}) >= 2


def test_an_unknown_data_set_is_refused_by_name():
    with pytest.raises(ValueError, match="'blobs' is not one of lesson 8's data sets: rings"):
        candidate_groupings("blobs")
