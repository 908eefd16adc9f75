"""numpy's own BLAS and LAPACK calls for ``a @ b.T``, ``x.T @ x`` and ``eigh``, callable from numba kernels.

numpy's ``matmul`` hands float64 products to the OpenBLAS it bundles (``numpy.libs``'s
``libscipy_openblas64_``, ILP64 CBLAS with the ``scipy_`` / ``64_`` affixes), whose summation
orders are not a plain loop's (a row of a (k, 5) by (5,) product differs from a loop in the last
bit ~40% of the time). A learned fit that should give numpy's numbers inside one numba call
therefore calls those same functions with the arguments ``matmul`` passes them
(``numpy/_core/src/umath/matmul.c.src``: ``gemv`` for a matrix by a vector, ``dot`` for a row by
a column, ``gemm`` otherwise, ``syrk`` and a triangle copy for a matrix by its own transpose), and
LAPACK's ``dsyevd`` as ``numpy/linalg/umath_linalg.cpp``'s ``eigh`` gufunc calls it. The
addresses are registered with ``llvmlite``'s ``add_symbol`` under gaorg's names and the kernels
declare them by name, so numba's disk cache keeps working. :func:`available` is False when numpy
does not bundle that library (another build of numpy: callers keep their numpy path).
``tests/unit/test_learned_blocks.py`` holds these to numpy's ``@`` and ``eigh`` bit for bit.
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

_I32, _I64, _F64 = ir.IntType(32), ir.IntType(64), ir.DoubleType()
_P = _F64.as_pointer()
ROW_MAJOR, COL_MAJOR, NO_TRANS, TRANS, UPPER = 101, 102, 111, 112, 121  # CBLAS's enums
_SIGNATURES = {  # CBLAS argument kinds: i = enum (int32), n = blasint (int64), d = double, p = double*
    "dgemv": (ir.VoidType(), "iinndpnpndpn"),
    "ddot": (_F64, "npnpn"),
    "dgemm": (ir.VoidType(), "iiinnndpnpndpn"),
    "dsyrk": (ir.VoidType(), "iiinndpndpn"),
}
# LAPACK's dsyevd (Fortran: every argument a pointer; numpy passes no hidden string lengths)
_LAPACK = {"dsyevd": "scipy_dsyevd_64_"}
_KINDS = {"i": _I32, "n": _I64, "d": _F64, "p": _P}


def _bind() -> bool:
    libs = sorted((Path(np.__file__).parent.parent / "numpy.libs").glob("libscipy_openblas64_*.so"))
    if len(libs) != 1:
        return False
    try:
        lib = ctypes.CDLL(str(libs[0]))  # numpy's own copy, already loaded: the same functions
        for name in _SIGNATURES:
            address = ctypes.cast(getattr(lib, f"scipy_cblas_{name}64_"), ctypes.c_void_p).value
            llvm.add_symbol(f"gaorg_np_cblas_{name}", address)
        for name, symbol in _LAPACK.items():
            llvm.add_symbol(
                f"gaorg_np_lapack_{name}", ctypes.cast(getattr(lib, symbol), ctypes.c_void_p).value
            )
    except (OSError, AttributeError):
        return False
    return True


_BOUND = _bind()


def available() -> bool:
    """Whether numpy's BLAS is bound, so these kernels give numpy's products."""
    return _BOUND


def _call(context, builder, name: str, sig, args):
    """Call ``name`` with numba values: integers widened or narrowed to the CBLAS kind, arrays as
    their data pointers, floats as they are."""
    ret, kinds = _SIGNATURES[name]
    values = []
    for kind, ty, value in zip(kinds, sig.args, args, strict=True):
        if kind == "p":
            values.append(context.make_array(ty)(context, builder, value).data)
        elif kind == "d":
            values.append(context.cast(builder, value, ty, types.float64))
        else:
            values.append(context.cast(builder, value, ty, types.int32 if kind == "i" else types.int64))
    fn = cgutils.get_or_insert_function(
        builder.module, ir.FunctionType(ret, [_KINDS[k] for k in kinds]), f"gaorg_np_cblas_{name}"
    )
    return builder.call(fn, values)


@intrinsic
def _dgemv(typingctx, order, trans, m, n, alpha, a, lda, x, incx, beta, y, incy):
    def codegen(context, builder, sig, args):
        _call(context, builder, "dgemv", sig, args)
        return context.get_dummy_value()

    return types.none(order, trans, m, n, alpha, a, lda, x, incx, beta, y, incy), codegen


@intrinsic
def _ddot(typingctx, n, x, incx, y, incy):
    def codegen(context, builder, sig, args):
        return _call(context, builder, "ddot", sig, args)

    return types.float64(n, x, incx, y, incy), codegen


@intrinsic
def _dgemm(typingctx, order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
    def codegen(context, builder, sig, args):
        _call(context, builder, "dgemm", sig, args)
        return context.get_dummy_value()

    return types.none(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc), codegen


@intrinsic
def _dsyrk(typingctx, order, uplo, trans, n, k, alpha, a, lda, beta, c, ldc):
    def codegen(context, builder, sig, args):
        _call(context, builder, "dsyrk", sig, args)
        return context.get_dummy_value()

    return types.none(order, uplo, trans, n, k, alpha, a, lda, beta, c, ldc), codegen


@intrinsic
def _dsyevd(typingctx, jobz, uplo, n, a, lda, w, work, lwork, iwork, liwork, info):
    """LAPACK's ``dsyevd`` with every argument an array (its data pointer)."""

    def codegen(context, builder, sig, args):
        values = [
            context.make_array(ty)(context, builder, v).data for ty, v in zip(sig.args, args, strict=True)
        ]
        values = [builder.bitcast(v, ir.IntType(8).as_pointer()) for v in values]
        fnty = ir.FunctionType(ir.VoidType(), [ir.IntType(8).as_pointer()] * len(values))
        fn = cgutils.get_or_insert_function(builder.module, fnty, "gaorg_np_lapack_dsyevd")
        builder.call(fn, values)
        return context.get_dummy_value()

    return types.none(jobz, uplo, n, a, lda, w, work, lwork, iwork, liwork, info), codegen


@njit(cache=True, nogil=True, error_model="numpy")
def eigh_vectors(cov: np.ndarray) -> np.ndarray:
    """``numpy.linalg._umath_linalg.eigh_lo(cov)``'s eigenvectors as numpy's gufunc computes them:
    a workspace query, the matrix copied column-major, ``dsyevd('V', 'L', ...)`` of numpy's LAPACK,
    the vectors copied out (column i the i-th); NaN everywhere if LAPACK reports a failure."""
    n = cov.shape[0]
    a = np.empty(n * n)
    w = np.empty(n)
    jobz = np.array([ord("V")], np.uint8)
    uplo = np.array([ord("L")], np.uint8)
    nn = np.array([n], np.int64)
    lwork = np.array([-1], np.int64)
    liwork = np.array([-1], np.int64)
    info = np.zeros(1, np.int64)
    query_work = np.empty(1)
    query_iwork = np.empty(1, np.int64)
    _dsyevd(jobz, uplo, nn, a, nn, w, query_work, lwork, query_iwork, liwork, info)
    vecs = np.empty((n, n))
    if info[0] != 0:
        vecs[:] = np.nan
        return vecs
    lwork[0] = np.int64(query_work[0])
    liwork[0] = query_iwork[0]
    work = np.empty(lwork[0])
    iwork = np.empty(liwork[0], np.int64)
    for i in range(n):
        for k in range(n):
            a[k + i * n] = cov[k, i]
    _dsyevd(jobz, uplo, nn, a, nn, w, work, lwork, iwork, liwork, info)
    if info[0] != 0:
        vecs[:] = np.nan
        return vecs
    for i in range(n):
        for k in range(n):
            vecs[k, i] = a[k + i * n]
    return vecs


@njit(cache=True, nogil=True, error_model="numpy")
def matmul_abt(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """numpy's ``a @ b.T`` for C-ordered float64 ``a`` (m, d) and ``b`` (k, d), d >= 2, m, k >= 1:
    a row by a column through ``dot`` (0.0 + ddot), a row or a column through ``gemv``, else ``gemm``."""
    m, d = a.shape
    k = b.shape[0]
    out = np.empty((m, k))
    if m == 1 and k == 1:
        out[0, 0] = 0.0 + _ddot(d, a, 1, b, 1)  # DOUBLE_dot: a double sum of chunks from 0.0
    elif m == 1:  # vector @ matrix: gemv on b.T's storage
        _dgemv(COL_MAJOR, TRANS, d, k, 1.0, b, d, a, 1, 0.0, out, 1)
    elif k == 1:  # matrix @ vector
        _dgemv(COL_MAJOR, TRANS, d, m, 1.0, a, d, b, 1, 0.0, out, 1)
    else:
        _dgemm(ROW_MAJOR, NO_TRANS, TRANS, m, k, d, 1.0, a, d, b, d, 0.0, out, k)
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def gram(x: np.ndarray) -> np.ndarray:
    """numpy's ``x.T @ x`` for a C-ordered float64 ``x`` (m, d), m, d >= 2: ``syrk`` into the upper
    triangle, then the triangle copied below, as ``matmul`` does for a matrix by its transpose."""
    m, d = x.shape
    out = np.empty((d, d))
    _dsyrk(ROW_MAJOR, UPPER, TRANS, d, m, 1.0, x, d, 0.0, out, d)
    for i in range(d):
        for j in range(i + 1, d):
            out[j, i] = out[i, j]
    return out
