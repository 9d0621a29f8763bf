"""Clustering assistant: pure statistics against hand-computed values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tierops.tiering.clustering import kmeans, scale, suggested_cuts, unscale


def test_kmeans_finds_two_obvious_groups_in_order():
    x = np.array([[10.0, 0.0], [11.0, 0.0], [0.0, 1.0], [1.0, 1.0], [12.0, 0.0], [2.0, 1.0]])
    result = kmeans(x, 2, seed=3)
    # centres sorted by the first feature: the low group first
    np.testing.assert_allclose(result.centers, [[1.0, 1.0], [11.0, 0.0]])
    assert result.labels.tolist() == [1, 1, 0, 0, 1, 0]
    assert result.inertia == pytest.approx(4 * 1.0)  # (1 + 0 + 1) per group


def test_kmeans_needs_k_rows():
    with pytest.raises(ValueError, match="at least k=3 rows"):
        kmeans(np.zeros((2, 1)), 3)


def test_scale_imputes_logs_and_standardises_then_cut_points_come_back_in_raw_units():
    e = np.e
    frame = pd.DataFrame(
        {"spend": [0.0, e - 1, e**2 - 1, np.nan], "delta": [-1.0, 1.0, 3.0, np.nan]}
    )
    matrix, transform = scale(frame)
    # spend: the median e-1 is imputed; log1p gives 0, 1, 2, 1 -> mean 1, std sqrt(1/2)
    np.testing.assert_allclose(matrix[:, 0], np.array([-1.0, 0.0, 1.0, 0.0]) / np.sqrt(0.5))
    # delta has a negative value, so no log: -1, 1, 3, 1 -> mean 1, std sqrt(2)
    np.testing.assert_allclose(matrix[:, 1], np.array([-2.0, 0.0, 2.0, 0.0]) / np.sqrt(2))
    assert unscale(1 / np.sqrt(0.5), "spend", transform) == pytest.approx(e**2 - 1)
    cuts = suggested_cuts(np.array([[-1 / np.sqrt(0.5), 0.0], [1 / np.sqrt(0.5), 1.0]]), transform)
    # midpoint 0 in the scaled space is log1p value 1, i.e. e - 1 in yuan
    assert cuts["spend"] == [round(e - 1, 2)]
    assert cuts["delta"] == [round(1.0 + 0.5 * np.sqrt(2), 2)]
