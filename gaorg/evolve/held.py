"""A stage's market data held on every Dask worker: sent once to each, kept until released.

The market travels as a worker plugin: the client pickles it once, the scheduler keeps those bytes
and hands them to every worker, and to any worker that joins later (a replacement for one that
died), which unpickles them once. A task gets a :class:`Held` (a name, a few bytes) and looks the
market up on its own worker. Held as a task result instead, Dask's active memory manager drops
the replicas no task is waiting on between two generations and the workers fetch them again: on
a 10-series basket of 15m bars one worker received the market three times in one stage
(``tests/bench/bench_scale.py``).

Imported only where a Dask cluster is used (it imports ``distributed``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from distributed import get_worker
from distributed.diagnostics.plugin import WorkerPlugin

from gaorg.errors import ClusterError


class Holder(WorkerPlugin):
    """The plugin that carries ``obj`` to a worker; the worker keeps it under the plugin's name."""

    def __init__(self, obj: Any) -> None:
        self.obj = obj


@dataclass(frozen=True)
class Held:
    """What a task is given in place of the held object."""

    name: str

    def get(self) -> Any:
        """The held object, from this worker's plugins."""
        return get_worker().plugins[self.name].obj


class HeldRef:
    """The client's handle on a held object: pass it as a keyword to the mapper, then ``release()``."""

    def __init__(self, client: Any, name: str) -> None:
        self.client, self.name = client, name

    def release(self) -> None:
        """Workers (and the scheduler) drop the object; a cluster already gone is not an error."""
        try:
            self.client.unregister_worker_plugin(self.name)
        except (OSError, TimeoutError, ValueError, KeyError):
            pass


def hold(client: Any, obj: Any) -> HeldRef:
    """Send ``obj`` to every worker of ``client``'s cluster, and to every worker that joins later."""
    name = f"gaorg-held-{uuid.uuid4().hex}"
    try:
        client.register_plugin(Holder(obj), name=name)
    except (OSError, TimeoutError) as exc:
        raise ClusterError(f"could not send market data to the Dask workers: {exc}") from None
    return HeldRef(client, name)


def run_with_held(batch: list, task: Callable[..., list], **kwargs: Any) -> list:
    """The task: ``task(batch, **kwargs)`` with every :class:`Held` keyword replaced by its object."""
    return task(batch, **{k: v.get() if isinstance(v, Held) else v for k, v in kwargs.items()})
