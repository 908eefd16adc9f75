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

import dataclasses
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
    """What a task is given in place of the held object (and the names of its series' pieces)."""

    name: str
    parts: tuple[str, ...] = ()

    def get(self) -> Any:
        """The held object, from this worker's plugins (put together once from its pieces)."""
        plugins = get_worker().plugins
        holder = plugins[self.name]
        if not self.parts:
            return holder.obj
        whole = getattr(holder, "whole", None)
        if whole is None:  # the arrays are the pieces' own: nothing is copied
            whole = holder.whole = dataclasses.replace(holder.obj, bars=tuple(plugins[p].obj for p in self.parts))
        return whole


class HeldRef:
    """The client's handle on a held object: pass it as a keyword to the mapper, then ``release()``."""

    def __init__(self, client: Any, name: str, parts: tuple[str, ...] = ()) -> None:
        self.client, self.name, self.parts = client, name, parts

    def held(self) -> Held:
        """What a task is given."""
        return Held(self.name, self.parts)

    def release(self) -> None:
        """Workers (and the scheduler) drop the object; a cluster already gone is not an error."""
        for name in (self.name, *self.parts):
            try:
                self.client.unregister_worker_plugin(name)
            except (OSError, TimeoutError, ValueError, KeyError):
                pass


def hold(client: Any, obj: Any) -> HeldRef:
    """Send ``obj`` to every worker of ``client``'s cluster, and to every worker that joins later.

    A dataclass with a tuple of ``bars`` (a stage's :class:`~gaorg.evolve.fitness.Market`) travels
    as one message per series and one for the rest: a worker unpickles a message into new arrays
    while it still holds the message, so one message of the whole market would need twice the
    market's memory on arrival; a series at a time needs the market and one series.
    """
    name = f"gaorg-held-{uuid.uuid4().hex}"
    pieces = getattr(obj, "bars", None) if dataclasses.is_dataclass(obj) else None
    split = isinstance(pieces, tuple) and len(pieces) > 1
    parts = tuple(f"{name}-{i}" for i in range(len(pieces))) if split else ()
    try:
        for part, piece in zip(parts, pieces if split else (), strict=True):
            client.register_plugin(Holder(piece), name=part)
        client.register_plugin(Holder(dataclasses.replace(obj, bars=()) if split else obj), name=name)
    except (OSError, TimeoutError) as exc:
        HeldRef(client, name, parts).release()
        raise ClusterError(f"could not send market data to the Dask workers: {exc}") from None
    return HeldRef(client, name, parts)


def run_with_held(batch: list, task: Callable[..., list], **kwargs: Any) -> list:
    """The task: ``task(batch, **kwargs)`` with every :class:`Held` keyword replaced by its object."""
    return task(batch, **{k: v.get() if isinstance(v, Held) else v for k, v in kwargs.items()})
