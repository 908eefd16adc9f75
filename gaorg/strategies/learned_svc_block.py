"""A linear_svc walk-forward fit in one numba call: the window, the fit and its block's predictions.

Per fit bar the Python path calls ``standardised_window``, ``learned_svc.fit``, then for the
prediction ``standardised_rows``, ``x_new @ raw[:, :-1].T + 1.0 * raw[:, -1]``, ``np.where`` and a
masked assignment: ~8 calls and their boxing around ~50-100 us of arithmetic. Here
:func:`fit_block` does it all and :func:`predict_block` does the prediction from a cached fit.

The decision function keeps numpy's arithmetic: ``matmul`` of a C-ordered (k, d) block by the
coefficient column calls its own OpenBLAS (``scipy_cblas_dgemv64_``, column-major, transposed,
lda = d; for one row ``DOUBLE_dot``: 0.0 + ``scipy_cblas_ddot64_``), whose summation order is not
a plain loop's (it differs in the last bit on ~40% of rows), so the kernel calls those same two
functions of the library numpy loaded, bound by symbol name (numba's disk cache keeps working).
:func:`available` is False where that library is not numpy's bundled OpenBLAS (another BLAS:
the caller keeps the Python path). ``tests/unit/test_learned_svc.py`` holds both kernels to the
Python path bit for bit.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np
from llvmlite import binding as llvm
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from gaorg.strategies import learned_svc
from gaorg.strategies.learned_window import standardised_rows, standardised_window

_I32, _I64, _F64 = ir.IntType(32), ir.IntType(64), ir.DoubleType()
_COL_MAJOR, _TRANS = 102, 112  # CBLAS_ORDER.CblasColMajor, CBLAS_TRANSPOSE.CblasTrans


def _bind_numpys_blas() -> bool:
    """Register numpy's ``cblas_dgemv`` / ``cblas_ddot`` addresses under gaorg's symbol names."""
    libs = sorted((Path(np.__file__).parent.parent / "numpy.libs").glob("libscipy_openblas64_*.so"))
    if len(libs) != 1:
        return False
    try:
        lib = ctypes.CDLL(str(libs[0]))  # numpy's own copy, already loaded: the same functions
        for name in ("dgemv", "ddot"):
            address = ctypes.cast(getattr(lib, f"scipy_cblas_{name}64_"), ctypes.c_void_p).value
            llvm.add_symbol(f"gaorg_np_cblas_{name}", address)
    except (OSError, AttributeError):
        return False
    return True


_BOUND = _bind_numpys_blas()


def available() -> bool:
    """Whether numpy's BLAS is bound, so the block kernels give numpy's decision values."""
    return _BOUND


def _data(context, builder, aryty, ary) -> ir.Value:
    return context.make_array(aryty)(context, builder, ary).data


@intrinsic
def _np_dgemv_rows(typingctx, a, v, out):
    """numpy's matmul of C-ordered ``a`` (k, d) by the column ``v`` (d): ``cblas_dgemv(ColMajor,
    Trans, d, k, 1.0, a, d, v, 1, 0.0, out, 1)``."""

    def codegen(context, builder, sig, args):
        d = _F64.as_pointer()
        fnty = ir.FunctionType(ir.VoidType(), [_I32, _I32, _I64, _I64, _F64, d, _I64, d, _I64, _F64, d, _I64])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "gaorg_np_cblas_dgemv")
        shape = cgutils.unpack_tuple(
            builder, context.make_array(sig.args[0])(context, builder, args[0]).shape
        )
        k, n = shape[0], shape[1]
        one = ir.Constant(_I64, 1)
        builder.call(
            fn,
            [
                ir.Constant(_I32, _COL_MAJOR), ir.Constant(_I32, _TRANS), n, k, ir.Constant(_F64, 1.0),
                _data(context, builder, sig.args[0], args[0]), n, _data(context, builder, sig.args[1], args[1]),
                one, ir.Constant(_F64, 0.0), _data(context, builder, sig.args[2], args[2]), one,
            ],
        )  # fmt: skip
        return context.get_dummy_value()

    return types.none(a, v, out), codegen


@intrinsic
def _np_ddot(typingctx, n, x, y):
    """numpy's ``cblas_ddot(n, x, 1, y, 1)``."""

    def codegen(context, builder, sig, args):
        d = _F64.as_pointer()
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(_F64, [_I64, d, _I64, d, _I64]), "gaorg_np_cblas_ddot"
        )
        one = ir.Constant(_I64, 1)
        xs, ys = _data(context, builder, sig.args[1], args[1]), _data(context, builder, sig.args[2], args[2])
        return builder.call(fn, [args[0], xs, one, ys, one])

    return types.float64(types.int64, x, y), codegen


@njit(cache=True, nogil=True)
def decision(xn: np.ndarray, raw: np.ndarray) -> np.ndarray:
    """``(xn @ raw[:, :-1].T + 1.0 * raw[:, -1]).reshape(-1)`` for C-ordered ``xn`` (k, d), d >= 2:
    numpy's matmul (gemv, or its dot for one row) through numpy's own BLAS."""
    k, d = xn.shape
    coef = np.empty(d)
    for j in range(d):
        coef[j] = raw[0, j]
    intercept = 1.0 * raw[0, d]
    scores = np.empty(k)
    if k == 1:
        scores[0] = 0.0 + _np_ddot(d, xn, coef)  # matmul's one-row case: DOUBLE_dot
    elif k > 1:
        _np_dgemv_rows(xn, coef, scores)
    for i in range(k):
        scores[i] += intercept
    return scores


@njit(cache=True, nogil=True)
def predict_block(x: np.ndarray, ok: np.ndarray, t: int, mean: np.ndarray, std: np.ndarray, raw: np.ndarray,
                  out: np.ndarray) -> None:  # fmt: skip
    """``out[t:t + len(ok)][ok] = sign(decision)`` (+1 / -1) of the fit ``raw`` on the rows of ``x``
    standardised by ``mean`` and ``std``: ``learned_models.linear_svc``'s apply."""
    scores = decision(standardised_rows(x, ok, t, mean, std), raw)
    r = 0
    for i in range(ok.shape[0]):
        if ok[i]:
            out[t + i] = 1.0 if scores[r] > 0.0 else -1.0
            r += 1


@njit(cache=True, nogil=True)
def fit_block(x: np.ndarray, fwd: np.ndarray, keep: np.ndarray, lo: int, min_rows: int, c: float, ok: np.ndarray,
              t: int, out: np.ndarray):  # fmt: skip
    """One walk-forward fit of ``learned_models.linear_svc`` at bar t and its block's predictions.

    Returns (state, mean, std, raw): state 0 when the window has fewer than ``min_rows`` rows (no
    fit, nothing written), 1 when it holds one class (no model: the block stays 0), 2 for a fit
    (``raw`` as ``learned_svc.fit`` gives it; its signs written into ``out`` where ``ok``).
    """
    tx, ty, mean, std, rows = standardised_window(x, fwd, keep, lo, min_rows)
    if rows < min_rows:
        return 0, mean, std, np.empty((0, 1)).T
    positive = np.empty(rows, np.bool_)
    count = 0
    for i in range(rows):
        positive[i] = ty[i] > 0.0
        count += positive[i]
    if count == 0 or count == rows:
        return 1, mean, std, np.empty((0, 1)).T
    raw = learned_svc.fit(tx, positive, c)
    predict_block(x, ok, t, mean, std, raw, out)
    return 2, mean, std, raw
