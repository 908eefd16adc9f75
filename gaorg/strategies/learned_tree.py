"""scikit-learn's depth-first Gini tree (best splitter, all features) as a numba kernel, for pca_tree.

``DecisionTreeClassifier(max_depth, min_samples_leaf, random_state=0)`` sorts each node's samples
per feature and keeps the first split with the largest proxy improvement, visiting the features in
an order drawn from its seeded generator. When no two features tie for a node's best split and no
feature is constant in a node, that order cannot change the tree: each node's split is a function
of its samples alone. This kernel computes the same splits with the same arithmetic (float32
feature values, scikit-learn's tie run rule ``x[p] <= x[p - 1] + 1e-7`` in float32, its threshold
midpoint, Gini proxy and improvement formulas, leaf rules) and reports a node with a tie or a
constant feature, for which the caller builds the tree with scikit-learn's builder instead.
``tests/unit/test_learned_parity.py`` holds the result to the public estimator bit for bit.
"""

from __future__ import annotations

import numpy as np
from numba import njit

EPSILON = np.finfo(np.float64).eps
FEATURE_THRESHOLD = np.float32(1e-7)


@njit(cache=True, nogil=True)
def _gini(counts: np.ndarray, w: float) -> float:
    sq = 0.0
    for c in range(counts.shape[0]):
        sq += counts[c] * counts[c]
    return 1.0 - sq / (w * w)


@njit(cache=True, nogil=True)
def build(z: np.ndarray, orders: np.ndarray, y: np.ndarray, n_classes: int, max_depth: int, leaf: int):
    """Nodes (feature, threshold, left, right, class counts) of the tree on float32 ``z`` and classes ``y``.

    Each feature is sorted once (``orders[f]``: an argsort of ``z[:, f]``); a node reads its samples in that order (the order among equal
    values cannot matter: a split never falls between values within 1e-7). Returns ``ok = False``
    when a node's split would depend on the feature order (a tie between features, or a constant
    feature): then the tree is not scikit-learn's and must be built there.
    """
    n, k = z.shape
    cap = 2 ** (max_depth + 1)
    feature = np.full(cap, -1, np.int64)
    threshold = np.zeros(cap)
    left = np.full(cap, -1, np.int64)
    right = np.full(cap, -1, np.int64)
    value = np.zeros((cap, n_classes))
    seg = orders.copy()  # seg[f, start:end]: a node's samples in the order of feature f
    goes_left = np.zeros(n, np.bool_)
    tmp = np.empty(n, np.int64)
    split_min = max(2, 2 * leaf)
    n_nodes = 1
    stack = np.zeros((cap, 4), np.int64)  # node, depth, start, end of the nodes still to split
    stack[0, 3] = n
    top = 1
    counts_left = np.zeros(n_classes)
    counts_right = np.zeros(n_classes)
    xf = np.empty(n, np.float32)
    yf = np.empty(n, np.int64)
    while top > 0:
        top -= 1
        node, depth, start, end = stack[top, 0], stack[top, 1], stack[top, 2], stack[top, 3]
        m = end - start
        counts = np.zeros(n_classes)
        for j in range(start, end):
            counts[y[seg[0, j]]] += 1.0
        value[node] = counts
        w = float(m)
        impurity = _gini(counts, w)
        if depth >= max_depth or m < split_min or m < 2 * leaf or impurity <= EPSILON:
            continue
        best, best_f, best_t, best_pos, tie = -np.inf, -1, 0.0, -1, False
        for f in range(k):
            for j in range(m):
                i = seg[f, start + j]
                xf[j] = z[i, f]
                yf[j] = y[i]
            if xf[m - 1] <= xf[0] + FEATURE_THRESHOLD:
                return feature, threshold, left, right, value, n_nodes, False  # a constant feature
            counts_left[:] = 0.0
            f_best, f_pos, f_t = -np.inf, -1, 0.0
            p, q = 0, 0  # q: sorted positions already counted on the left
            while p < m:
                p += 1
                while p < m and xf[p] <= xf[p - 1] + FEATURE_THRESHOLD:
                    p += 1
                if p == m:
                    continue
                if p < leaf or m - p < leaf:
                    continue
                while q < p:
                    counts_left[yf[q]] += 1.0
                    q += 1
                for c in range(n_classes):
                    counts_right[c] = counts[c] - counts_left[c]
                wl, wr = float(p), float(m - p)
                proxy = -wr * _gini(counts_right, wr) - wl * _gini(counts_left, wl)
                if proxy > f_best:
                    f_best, f_pos = proxy, p
                    t = np.float64(xf[p - 1]) / 2.0 + np.float64(xf[p]) / 2.0
                    if t == np.float64(xf[p]) or t == np.inf or t == -np.inf:
                        t = np.float64(xf[p - 1])
                    f_t = t
            if f_pos < 0:
                continue
            if f_best > best:
                best, best_f, best_t, best_pos, tie = f_best, f, f_t, f_pos, False
            elif f_best == best:
                tie = True
        if best_pos < 0:
            continue
        if tie:
            return feature, threshold, left, right, value, n_nodes, False
        # the samples at or below the threshold go left
        counts_left[:] = 0.0
        n_left = 0
        for j in range(start, end):
            i = seg[0, j]
            goes_left[i] = np.float64(z[i, best_f]) <= best_t
            if goes_left[i]:
                counts_left[y[i]] += 1.0
                n_left += 1
        for c in range(n_classes):
            counts_right[c] = counts[c] - counts_left[c]
        wl, wr = float(n_left), float(m - n_left)
        imp_left, imp_right = _gini(counts_left, wl), _gini(counts_right, wr)
        improvement = (w / n) * (impurity - (wr / w * imp_right) - (wl / w * imp_left))
        if improvement + EPSILON < 0.0:
            continue
        feature[node], threshold[node] = best_f, best_t
        left[node], right[node] = n_nodes, n_nodes + 1
        n_nodes += 2
        for f in range(k):  # a stable partition of each feature's order: lefts, then rights
            a, b = start, start + n_left
            for j in range(start, end):
                i = seg[f, j]
                if goes_left[i]:
                    tmp[a] = i
                    a += 1
                else:
                    tmp[b] = i
                    b += 1
            seg[f, start:end] = tmp[start:end]
        stack[top, 0], stack[top, 1], stack[top, 2], stack[top, 3] = (
            right[node],
            depth + 1,
            start + n_left,
            end,
        )
        stack[top + 1, 0], stack[top + 1, 1], stack[top + 1, 2], stack[top + 1, 3] = (
            left[node],
            depth + 1,
            start,
            start + n_left,
        )
        top += 2
    return feature, threshold, left, right, value, n_nodes, True


@njit(cache=True, nogil=True)
def predict(z: np.ndarray, feature: np.ndarray, threshold: np.ndarray, left: np.ndarray, right: np.ndarray,
            value: np.ndarray) -> np.ndarray:  # fmt: skip
    """The class index (first of the largest counts) of each row's leaf."""
    out = np.empty(z.shape[0], np.int64)
    for i in range(z.shape[0]):
        node = 0
        while feature[node] >= 0:
            node = left[node] if np.float64(z[i, feature[node]]) <= threshold[node] else right[node]
        out[i] = np.argmax(value[node])
    return out
