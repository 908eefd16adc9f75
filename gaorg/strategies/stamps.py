"""numba's disk cache and kernels that call another module's kernels.

numba's disk cache checks only the file a kernel is defined in (its mtime and size), so a kernel
calling another module's kernel would keep the old callee's machine code after that module is
edited (checked: numba 0.68; e.g. ``signals``' kernels call ``indicators.step_max``). A module
whose cached kernels call other modules' kernels stamps them with :func:`stamp_dependencies`.
"""

from __future__ import annotations

import os
from types import ModuleType


def stamp_dependencies(dispatchers: tuple, modules: tuple[ModuleType, ...]) -> bool:
    """Make each cached kernel of ``dispatchers`` recompile when a source of ``modules`` changes.

    The callees' stamps are added to the caller's source stamp, which numba compares with the one
    stored in the cache's index. A private attribute: False (and nothing changed) where a numba
    release has no such thing.
    """
    extra = tuple((os.stat(m.__file__).st_mtime, os.stat(m.__file__).st_size) for m in modules)
    try:
        files = [d._cache._cache_file for d in dispatchers]
        for f in files:
            f._source_stamp = (f._source_stamp, extra)
    except AttributeError:
        return False
    return True
