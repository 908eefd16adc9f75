"""A Dask preload for gaorg's LocalCluster workers: they ignore SIGINT.

Ctrl-C in a terminal reaches every process of the foreground group, and each worker printed a
KeyboardInterrupt traceback and plugin teardown errors before gaorg's own message. The client
stops its workers as it ends, so they have nothing to do with a Ctrl-C. Set in the worker
itself at its start (``dask_setup``, in its main thread), never in the client: ignoring SIGINT
there while the cluster started dropped a Ctrl-C of that second or two (the run went on).
"""

from __future__ import annotations

from typing import Any


def dask_setup(worker: Any) -> None:  # noqa: ARG001 - Dask's preload hook
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
