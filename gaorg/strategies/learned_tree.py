"""scikit-learn's depth-first Gini tree (best splitter, all features) as a numba kernel, for pca_tree.

``DecisionTreeClassifier(max_depth, min_samples_leaf, random_state=0)`` sorts each node's samples
per feature and keeps the first split with the largest proxy improvement, visiting the features in
an order drawn from its seeded generator. This kernel replays that order: scikit-learn's
``rand_r`` xorshift (``our_rand_r``, seeded with ``RandomState(0).randint(0, RAND_R_MAX)``, one
state for the whole build), its Fisher-Yates draw over the ``features`` array and the
constant-feature bookkeeping (``node_split_best``: known constants carried down to the children,
newly found ones kept in ``constant_features``), so a tie between features or a feature constant
in a node gives scikit-learn's split too. Each visited feature's splits use the same arithmetic:
float32 feature values, the tie run rule ``x[p] <= x[p - 1] + 1e-7`` in float32, the threshold
midpoint, the Gini proxy and improvement formulas, the leaf rules. Class counts are integers, so
the sums of their squares are carried from one position to the next instead of summed per
position: the same float64 values. ``tests/unit/test_learned_parity.py`` holds the result to the
public estimator bit for bit, ties and constant features included.
"""

from __future__ import annotations

import numpy as np
from numba import njit

EPSILON = np.finfo(np.float64).eps
FEATURE_THRESHOLD = np.float32(1e-7)
SEED = 209652396  # np.random.RandomState(0).randint(0, RAND_R_MAX): the splitter's rand_r_state


@njit(cache=True, nogil=True, error_model="numpy")
def _rand_int(low: int, high: int, state: np.ndarray) -> int:
    """sklearn.tree._utils.rand_int: ``low + our_rand_r(state) % (high - low)`` (uint32 xorshift)."""
    s = state[0]
    if s == 0:
        s = 1  # DEFAULT_SEED
    s ^= (s << 13) & 0xFFFFFFFF
    s ^= s >> 17
    s ^= (s << 5) & 0xFFFFFFFF
    state[0] = s
    return low + (s % 2147483648) % (high - low)


@njit(cache=True, nogil=True, error_model="numpy")
def _gini(counts: np.ndarray, w: float) -> float:
    sq = 0.0
    for c in range(counts.shape[0]):
        sq += counts[c] * counts[c]
    return 1.0 - sq / (w * w)


@njit(cache=True, nogil=True, error_model="numpy")
def build(zt: np.ndarray, orders: np.ndarray, y: np.ndarray, n_classes: int, max_depth: int, leaf: int,
          seed: int = SEED):  # fmt: skip
    """Nodes (feature, threshold, left, right, class counts) of the tree on float32 features ``zt``
    (one row per feature: ``z.T``, C-ordered) and classes ``y``.

    Each feature is sorted once (``orders[f]``: an argsort of ``zt[f]``, or sorted keys with the
    row in their low 32 bits: ``learned_pca.shifted_float32_t``); a node reads its samples
    in that order (the order among equal values cannot matter: a split never falls between values
    within 1e-7).
    """
    k, n = zt.shape
    cap = 2 ** (max_depth + 1)
    feature = np.full(cap, -1, np.int64)
    threshold = np.zeros(cap)
    left = np.full(cap, -1, np.int64)
    right = np.full(cap, -1, np.int64)
    value = np.zeros((cap, n_classes))
    seg = np.empty((k, n), np.int64)  # seg[f, start:end]: a node's samples in the order of feature f
    for f in range(k):
        for j in range(n):
            seg[f, j] = orders[f, j] & 0xFFFFFFFF  # sorted keys (row in the low 32 bits) or an argsort
    goes_left = np.zeros(n, np.bool_)
    tmp = np.empty(n, np.int64)
    split_min = max(2, 2 * leaf)
    n_nodes = 1
    stack = np.zeros((cap, 5), np.int64)  # node, depth, start, end, known constant features
    stack[0, 3] = n
    top = 1
    state = np.array([seed], np.int64)
    features = np.arange(k)
    constant_features = np.zeros(k, np.int64)
    counts = np.zeros(n_classes)
    counts_left = np.zeros(n_classes)
    counts_right = np.zeros(n_classes)
    cl = np.zeros(n_classes, np.int64)
    cr = np.zeros(n_classes, np.int64)
    xf = np.empty(n, np.float32)
    yf = np.empty(n, np.int64)
    while top > 0:
        top -= 1
        node, depth, start, end, n_known = stack[top]
        m = end - start
        counts[:] = 0.0
        for j in range(start, end):
            counts[y[seg[0, j]]] += 1.0
        value[node] = counts
        w = float(m)
        impurity = _gini(counts, w)
        if depth >= max_depth or m < split_min or m < 2 * leaf or impurity <= EPSILON:
            continue
        sq_total = 0
        for c in range(n_classes):
            sq_total += int(counts[c]) * int(counts[c])
        # node_split_best: draw the features without replacement, skipping known constants
        best, best_f, best_t, best_pos = -np.inf, -1, 0.0, -1
        f_i, n_visited, n_found, n_drawn, n_total = k, 0, 0, 0, n_known
        while f_i > n_total and (n_visited < k or n_visited <= n_found + n_drawn):
            n_visited += 1
            f_j = _rand_int(n_drawn, f_i - n_found, state)
            if f_j < n_known:
                features[n_drawn], features[f_j] = features[f_j], features[n_drawn]
                n_drawn += 1
                continue
            f_j += n_found
            f = features[f_j]
            for j in range(m):
                i = seg[f, start + j]
                xf[j] = zt[f, i]
                yf[j] = y[i]
            if xf[m - 1] <= xf[0] + FEATURE_THRESHOLD:  # constant in this node
                features[f_j], features[n_total] = features[n_total], features[f_j]
                n_found += 1
                n_total += 1
                continue
            f_i -= 1
            features[f_i], features[f_j] = features[f_j], features[f_i]
            for c in range(n_classes):
                cl[c] = 0
                cr[c] = int(counts[c])
            sql, sqr = 0, sq_total  # sums of the squared class counts, exact integers
            p, q = 0, 0  # q: sorted positions already counted on the left
            while p < m:
                p += 1
                while p < m and xf[p] <= xf[p - 1] + FEATURE_THRESHOLD:
                    p += 1
                if p == m or m - p < leaf:
                    break
                if p < leaf:
                    continue
                while q < p:
                    c = yf[q]
                    sql += 2 * cl[c] + 1
                    cl[c] += 1
                    sqr -= 2 * cr[c] - 1
                    cr[c] -= 1
                    q += 1
                wl, wr = float(p), float(m - p)
                # the exact proxy is (sqr * wl + sql * wr) / (wl * wr) - m (integers exact in float64):
                # a position below the best by more than 1e-9 cannot beat it in float either, so its
                # two divisions are skipped (the float64 errors of both sides are ~1e-12)
                if float(sqr) * wl + float(sql) * wr < (best + w - 1e-9) * (wl * wr):
                    continue
                proxy = -wr * (1.0 - float(sqr) / (wr * wr)) - wl * (1.0 - float(sql) / (wl * wl))
                if proxy > best:  # the first best in the visiting order, as scikit-learn keeps it
                    best, best_f, best_pos = proxy, f, p
                    t = np.float64(xf[p - 1]) / 2.0 + np.float64(xf[p]) / 2.0
                    if t == np.float64(xf[p]) or t == np.inf or t == -np.inf:
                        t = np.float64(xf[p - 1])
                    best_t = t
        features[:n_known] = constant_features[:n_known]
        constant_features[n_known : n_known + n_found] = features[n_known : n_known + n_found]
        if best_pos < 0:
            continue
        # the samples at or below the threshold go left
        counts_left[:] = 0.0
        n_left = 0
        for j in range(start, end):
            i = seg[0, j]
            g = np.float64(zt[best_f, i]) <= best_t
            goes_left[i] = g
            counts_left[y[i]] += 1.0 if g else 0.0
            n_left += 1 if g else 0
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
                g = goes_left[i]
                tmp[a if g else b] = i  # branch-free: the side is data, not a jump the CPU mispredicts
                a += 1 if g else 0
                b += 0 if g else 1
            seg[f, start:end] = tmp[start:end]
        stack[top, 0], stack[top, 1], stack[top, 2], stack[top, 3], stack[top, 4] = (
            right[node], depth + 1, start + n_left, end, n_total
        )  # fmt: skip
        stack[top + 1, 0], stack[top + 1, 1], stack[top + 1, 2], stack[top + 1, 3], stack[top + 1, 4] = (
            left[node], depth + 1, start, start + n_left, n_total
        )  # fmt: skip
        top += 2
    return feature[:n_nodes], threshold[:n_nodes], left[:n_nodes], right[:n_nodes], value[:n_nodes]


@njit(cache=True, nogil=True, error_model="numpy")
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


@njit(cache=True, nogil=True, error_model="numpy")
def predict_shifted(zz: np.ndarray, shift: np.ndarray, feature: np.ndarray, threshold: np.ndarray,
                    left: np.ndarray, right: np.ndarray, value: np.ndarray, classes: np.ndarray) -> np.ndarray:  # fmt: skip
    """``classes[predict(float32(zz - shift), ...)]`` as float64, the float32 features computed as
    the tree reads them (``PCA.transform``'s ``x @ components.T`` is ``zz``, ``mean @ components.T``
    is ``shift``; the subtraction and the float32 rounding are numpy's). A node's children are
    adjacent (``right == left + 1``, as ``build`` numbers them), so the walk adds the comparison's
    outcome instead of branching on it; each leaf's class is looked up once per call."""
    leaf_class = np.empty(feature.shape[0])
    for node in range(feature.shape[0]):
        leaf_class[node] = classes[np.argmax(value[node])] if feature[node] < 0 else 0.0
    out = np.empty(zz.shape[0])
    for i in range(zz.shape[0]):
        node = 0
        while feature[node] >= 0:
            f = feature[node]
            v = np.float64(np.float32(zz[i, f] - shift[0, f]))
            node = left[node] + (0 if v <= threshold[node] else 1)
        out[i] = leaf_class[node]
    return out
