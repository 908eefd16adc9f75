"""``gaorg evolve``: a hierarchical evolution over stored series (registered by gaorg.cli).

Only argparse is imported here; the handler imports the store, DEAP and Dask when it runs.
"""

from __future__ import annotations

import argparse
import contextlib
import re
from collections.abc import Iterator
from typing import Any

EPILOG = """\
The run id is the first line on stderr, before any work; the checkpoint lives in
$GAORG_HOME/checkpoints/RUN_ID/ (state.ckpt after every generation, front/*.json at the end).
Continue a killed run with `gaorg evolve --resume RUN_ID` (same result as an uninterrupted run);
a run started with --register NAME is logged and registered only if the resume says it again
(`--resume RUN_ID --register NAME`, what the Ctrl-C message prints).
Series not stored at a stage's timeframe are resampled from a finer stored one.
A basket by rule: --universe hyperliquid:perp [--min-history 1y] [--top 30] picks, once at the start,
the stored perpetuals of the exchange with that much history, the most traded over the 30 days before
the hold-out first; the run records the rule and the symbols, and --resume uses the recorded symbols.
Series of different spans get their own folds; the hold-out is the same newest slice of time for all
(a series delisted before it counts in the folds it lived through).
--register NAME logs the run to MLflow and registers the front as model NAME (needs gaorg.tracking).
Ctrl-C stops a run at its last checkpointed generation and prints the command that continues it;
during the registration at the end, a first Ctrl-C lets it finish (all or nothing) and a second
abandons it (nothing registered; the printed --resume ... --register NAME registers it).
After each stage a line says where its time went: evaluations, evaluations/s, and each entry
module's share of the time and evaluations/s (a genome's filters, exits and sizing count with its
entry), to weigh a family's cost before choosing --modules.
"""

RUN_FLAGS = ("symbols", "timeframes", "population", "generations", "seed", "folds", "exchange",
             "holdout", "modules", "scheme", "universe", "min_history", "top", "reject_below", "initial_factor",
             "parsimony", "pipelined")


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add ``gaorg evolve`` to the parser."""
    p = sub.add_parser(
        "evolve", parents=[common], help="discover strategies: NSGA-II over genomes, coarse to fine",
        description="Evolve genomes on walk-forward folds of a basket of series, stage by stage "
                    "(coarse to fine timeframes), on a Dask cluster; report the Pareto front with "
                    "hold-out scores, deflated Sharpe ratios and the probability of backtest overfitting.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--symbols", default=None, help="comma-separated basket, e.g. BTC,ETH (required unless --universe or --resume)")
    p.add_argument("--universe", default=None, metavar="EXCHANGE:KIND",
                   help="a basket by rule: the stored series of EXCHANGE, KIND perp, spot or all (e.g. hyperliquid:perp)")
    p.add_argument("--min-history", default=None, metavar="DURATION",
                   help="with --universe: series spanning at least this (e.g. 90d, 26w, 1y)")
    p.add_argument("--top", type=int, default=None, metavar="N",
                   help="with --universe: the N most traded (notional volume of the 30 days before the hold-out)")
    p.add_argument("--timeframes", default=None, help="stages, coarse to fine (default: 1d,1h)")
    p.add_argument("--population", type=int, default=None, help="genomes per generation (default: 64)")
    p.add_argument("--generations", type=int, default=None, help="generations per stage (default: 10)")
    p.add_argument("--seed", type=int, default=None, help="same seed, same result (default: 0)")
    p.add_argument("--folds", type=int, default=None, help="walk-forward folds per series (default: 4)")
    p.add_argument("--scheme", choices=("anchored", "rolling"), default=None, help="fold scheme (default: anchored)")
    p.add_argument("--holdout", type=float, default=None, help="newest fraction held out (default: 0.2)")
    p.add_argument("--modules", default=None, help="comma-separated module names to evolve with (default: all)")
    p.add_argument("--exchange", default=None, help="exchange of the series (default: the one that holds each symbol)")
    p.add_argument("--reject-below", default=None, metavar="SHARPE|none",
                   help="on a basket, a genome whose mean walk-forward Sharpe on one asset is below SHARPE is not "
                        "scored on the others: off the front, still a trial (default: 0; none: score every genome "
                        "on every asset)")
    p.add_argument("--initial-factor", default=None, metavar="F",
                   help="each stage's first generation draws F times the population and keeps the best, "
                        "F in [1, 10] (default: 2; 1: just the population)")
    p.add_argument("--parsimony", default=None, metavar="P",
                   help="random genomes (first generations, immigrants) draw their count of filters, and "
                        "of exits, k with weight P**k, P in (0, 1] (default: 0.5, each extra filter or exit "
                        "half as likely; 1: every count equally often, the draws before 2026-12-04)")
    p.add_argument("--pipelined", action="store_const", const=True, default=None,
                   help="breed each half generation while the half before it is evaluated: the workers never "
                        "wait between generations (Dask efficiency), a slightly different search (default: "
                        "generational NSGA-II)")
    p.add_argument("--scheduler", default=None, metavar="ADDR", help="join a Dask cluster, e.g. tcp://10.0.0.5:8786")
    p.add_argument("--workers", type=int, default=None,
                   help="local Dask worker processes (default: one per core; 0: no Dask, this process)")
    p.add_argument("--resume", default=None, metavar="RUN_ID", help="continue a checkpointed run")
    p.add_argument("--register", default=None, metavar="NAME", help="log to MLflow and register the front as NAME")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar or per-generation lines")
    p.set_defaults(handler=evolve_command)


RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}")


def check_run_id(text: str) -> str:
    """``text`` if it can name a run (letters, digits, ``.``, ``_``, ``-``; no path), else InputError."""
    from gaorg.errors import InputError

    if not RUN_ID.fullmatch(text) or ".." in text:
        raise InputError(f"--resume {text!r} is not a run id: give the id `gaorg evolve` printed "
                         "(e.g. 20261124-153000-1a2b3c), not a path")
    return text


def evolve_command(args: argparse.Namespace, settings: Any) -> Any:
    """Run or resume an evolution; the run id goes to stderr first."""
    import sys

    from gaorg.evolve.run import new_run_id

    run_id = check_run_id(args.resume) if args.resume else new_run_id()
    print(f"run {run_id}", file=sys.stderr, flush=True)
    try:
        return _run(args, settings, run_id)
    except KeyboardInterrupt:  # before its first checkpoint (after it, _run says how to resume)
        from gaorg.evolve.checkpoint import STATE_FILE

        if not (settings.checkpoints / run_id / STATE_FILE).exists():
            print(f"run {run_id} stopped before its first generation was checkpointed: nothing to resume, "
                  "nothing registered; run the same command again to start over", file=sys.stderr, flush=True)
        raise


def _run(args: argparse.Namespace, settings: Any, run_id: str) -> Any:
    from gaorg.command import Outcome
    from gaorg.config import parse_config
    from gaorg.errors import ConfigError, NotFoundError
    from gaorg.evolve.checkpoint import STATE_FILE, load_state
    from gaorg.evolve.config import EvolveConfig, check_fits
    from gaorg.evolve.run import evolve

    ckpt = settings.checkpoints / run_id
    resolved: dict[str, Any] = {}  # a rule resolved now: what it looked at (not on resume)
    if args.resume:
        given = [f"--{k.replace('_', '-')}" for k in RUN_FLAGS if getattr(args, k) is not None]
        if given:
            raise ConfigError(f"--resume continues run {run_id} with its own settings; drop {', '.join(given)}")
        config = load_state(ckpt).config
        if config.universe:  # the basket its rule resolved to at the start, not resolved again
            import sys

            more = f" and {len(config.symbols) - 10} more" if len(config.symbols) > 10 else ""
            print(f"basket as recorded by run {run_id} ({config.universe}; not resolved again): "
                  f"{len(config.symbols)} series: {', '.join(config.symbols[:10])}{more}", file=sys.stderr, flush=True)
    else:
        rule = _rule(args)
        # a rule is resolved after every other option is checked: a bad --holdout or --timeframes
        # stops here, not after the store was read with it (the placeholder is replaced below)
        raw: dict[str, Any] = {"symbols": _names(args.symbols) if rule is None else (rule.text(),)}
        for key in ("population", "generations", "seed", "folds", "exchange", "holdout", "scheme", "pipelined"):
            if getattr(args, key) is not None:
                raw[key] = getattr(args, key)
        if args.timeframes is not None:
            raw["timeframes"] = _names(args.timeframes)
        if args.modules is not None:
            raw["modules"] = _names(args.modules)
        raw.update(_search(args))
        config = parse_config(EvolveConfig, raw, where="gaorg evolve")
        if rule is not None:
            config = _resolve(config, rule, settings, resolved)
    if args.scheduler is not None or args.workers is not None:
        config = _with_cluster(config, args.scheduler, args.workers)
    check_fits(config)
    if not settings.market_db.exists():
        raise NotFoundError(
            f"no market store at {settings.market_db}; add data first (`gaorg data synth`, "
            "`gaorg data import` or `gaorg data fetch`)"
        )
    callback, finish = _tracking_hooks(args.register, settings)

    from gaorg.data.store import open_store
    from gaorg.evolve.parallel import open_client

    stop = _StickyInterrupt()
    hooks = stop.guard(callback)
    registering = False
    try:
        with stop, open_store(settings, read_only=True) as store:
            if config.workers == 0 and not config.scheduler:
                result = evolve(config, store, None, hooks, ckpt, resume=bool(args.resume),
                                run_id=run_id, progress=args.progress)
            else:
                with open_client(config.scheduler, config.workers) as client:
                    result = evolve(config, store, client, hooks, ckpt, resume=bool(args.resume),
                                    run_id=run_id, progress=args.progress)
            stop.check()  # a Ctrl-C that something swallowed on the way: nothing is registered
        if finish is not None:  # the run's last step, all or nothing: a first Ctrl-C lets it end
            with stop, stop.deferred(f"Ctrl-C: registering run {run_id}'s front as {args.register} first "
                                     "(a few seconds); Ctrl-C again abandons it (nothing is registered)"):
                registering = True  # set once a first Ctrl-C is deferred: one before still ends the run FAILED
                registered = finish(result)
    except BaseException as exc:
        if callback is not None and not registering:  # the MLflow run the callback opened ends FAILED
            callback.finish("FAILED")  # (a registration that fails ends it so itself)
        if isinstance(exc, KeyboardInterrupt) and (ckpt / STATE_FILE).exists():
            import shlex
            import sys

            again = f" --register {shlex.quote(args.register)}" if args.register else ""  # else not registered
            if registering:
                print(f"run {run_id} finished but nothing is registered; register its front with "
                      f"`gaorg evolve --resume {run_id}{again}`", file=sys.stderr, flush=True)
            else:
                print(f"run {run_id} stopped at its last checkpointed generation; continue it with "
                      f"`gaorg evolve --resume {run_id}{again}`", file=sys.stderr, flush=True)
        raise
    payload = result.to_payload()
    payload["config"] = dict(result.config)  # every option of the run, as MLflow's params record it
    payload["basket"] = {"symbols": list(config.symbols), "exchange": config.exchange, "universe": config.universe,
                         **resolved}
    text = _describe(result)
    if finish is not None:
        payload["registered"] = registered
        text += "\n" + _registered(registered, settings)
    return Outcome(text, payload)


class _StickyInterrupt:
    """Ctrl-C during an evolution stops it even when the KeyboardInterrupt is swallowed.

    Python raises it wherever the main thread is, which can be a callback whose exceptions are
    only printed (a weakref's, a ``__del__``: seen in SQLAlchemy's and Dask's), and the run then
    went on to the end with exit status 0. The signal is remembered: each generation's report
    (``guard``) and the end of the run (``check``) raise it again, after the generation's
    checkpoint, so ``--resume`` continues from there.
    """

    def __init__(self) -> None:
        self.hit = False
        self._previous: Any = None
        self._defer: str | None = None  # while set, a first Ctrl-C prints this and lets the step end

    def __enter__(self) -> _StickyInterrupt:
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._on_sigint)
        return self

    def __exit__(self, *exc: Any) -> None:
        import signal

        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def _on_sigint(self, signum: int, frame: Any) -> None:
        if self._defer is not None:
            import sys

            print(self._defer, file=sys.stderr, flush=True)
            self._defer = None  # the next one stops it
            return
        self.hit = True
        raise KeyboardInterrupt

    @contextlib.contextmanager
    def deferred(self, message: str) -> Iterator[None]:
        """A step that must end whole (registration): the first Ctrl-C prints ``message`` and
        lets it finish; a second stops it (the step then undoes itself)."""
        self._defer = message
        try:
            yield
        finally:
            self._defer = None

    def check(self) -> None:
        if self.hit:
            raise KeyboardInterrupt

    def guard(self, callback: Any) -> Any:
        """``callback`` (or nothing) behind :meth:`check`."""
        def report(stats: Any) -> None:
            self.check()
            if callback is not None:
                callback(stats)
        return report


def _rule(args: argparse.Namespace) -> Any:
    """The basket rule of a new run (None: ``--symbols`` names it), its flags checked now."""
    from gaorg.errors import ConfigError

    if args.universe is None:
        if args.min_history is not None or args.top is not None:
            raise ConfigError("--min-history and --top choose within a rule; add --universe EXCHANGE:KIND "
                              "(e.g. --universe hyperliquid:perp)")
        if not args.symbols:
            raise ConfigError("--symbols is required, e.g. --symbols BTC,ETH (or --universe EXCHANGE:KIND, "
                              "or --resume RUN_ID)")
        return None
    if args.symbols or args.exchange:
        raise ConfigError("--universe names the basket by rule; drop --symbols and --exchange (or drop --universe)")
    from gaorg.evolve.rule import parse_rule

    return parse_rule(args.universe, args.min_history, args.top)


def _resolve(config: Any, rule: Any, settings: Any, resolved: dict[str, Any]) -> Any:
    """``config`` with the basket ``rule`` names, resolved once, now, from the store at its finest
    stage, volume ranked before its hold-out (a resumed run reads its symbols from its checkpoint)."""
    import sys
    from dataclasses import replace

    from gaorg.data.store import open_store
    from gaorg.evolve.rule import resolve

    with open_store(settings, read_only=True) as store:
        basket = resolve(store, rule, config.timeframes[-1], config.holdout)
    print(basket.describe(), file=sys.stderr, flush=True)
    found = basket.to_dict()
    resolved.update(volume_until=found["volume_until"], candidates=found["candidates"])
    return replace(config, symbols=basket.symbols, exchange=basket.exchange, universe=basket.rule)


def _search(args: argparse.Namespace) -> dict[str, Any]:
    """``reject_below``, ``initial_factor`` and ``parsimony`` as given: finite numbers (``none`` turns
    rejection off); their ranges are EvolveConfig's to check."""
    out: dict[str, Any] = {}
    if args.reject_below is not None:
        out["reject_below"] = None if args.reject_below.strip().lower() == "none" else _finite(
            "--reject-below", args.reject_below, "is not a Sharpe ratio; give a number (e.g. 0, the default; "
            "-1 rejects fewer genomes) or none to score every genome on every asset")
    if args.initial_factor is not None:
        out["initial_factor"] = _finite(
            "--initial-factor", args.initial_factor, "is not a number; give how many times the population each "
            "stage's first generation draws, in [1, 10] (e.g. 2, the default)")
    if args.parsimony is not None:
        out["parsimony"] = _finite(
            "--parsimony", args.parsimony, "is not a number; give the weight of each extra filter or exit "
            "in (0, 1] (e.g. 0.5, the default, or 1)")
    return out


def _finite(flag: str, text: str, fix: str) -> float:
    """``text`` as a finite float; ConfigError ``flag 'text' fix`` for text, NaN and infinities alike."""
    import math

    from gaorg.errors import ConfigError

    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ConfigError(f"{flag} {text!r} {fix}")
    return value


def _with_cluster(config: Any, scheduler: str | None, workers: int | None) -> Any:
    from dataclasses import replace

    return replace(config, scheduler=scheduler or config.scheduler,
                   workers=workers if workers is not None else config.workers)


def _names(text: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in text.split(",") if s.strip())


def _tracking_hooks(name: str | None, settings: Any):
    """(callback, finish) for ``--register NAME``: MLflow logging through gaorg.tracking."""
    if name is None:
        return None, None
    try:
        from gaorg.tracking.log import evolution_callback, log_evolution
        from gaorg.tracking.recorder import MlflowRecorder
        from gaorg.tracking.registry import check_model_name
    except ImportError as exc:
        from gaorg.errors import ConfigError

        raise ConfigError(f"--register needs gaorg.tracking, which is not available here ({exc})") from None
    check_model_name(name)  # before the run: MLflow would refuse it only at the end
    recorder = MlflowRecorder(settings)
    return evolution_callback(recorder), lambda result: log_evolution(result, recorder, register=name)


def _describe(result: Any) -> str:
    from gaorg.quantities import fmt

    lines = [
        f"run {result.run_id}: {result.evaluations} evaluations "
        f"({', '.join(f'{k} {v}' for k, v in result.evaluations_per_stage.items())}), "
        f"{result.trials} trials, PBO {result.pbo:.2f}",
        *(f"time {line}" for line in result.timing.lines()),
        f"front ({len(result.front)}), best walk-forward Sharpe first; walk-forward: Sharpe mean over folds x "
        "assets, max DD the worst cell; hold-out: Sharpe mean, max DD worst, trades total over the basket",
    ]
    for m in result.front[:10]:
        held = m.holdout_summary()
        lines.append(
            f"  {m.genome_hash}  walk-forward: sharpe {fmt('wf.sharpe', m.sharpe):>6}  "
            f"maxdd {fmt('wf.max_drawdown', m.max_drawdown):>6}  "
            f"consistency {fmt('wf.consistency', m.consistency):>4}  DSR {fmt('deflated_sharpe', m.deflated_sharpe)}  "
            f"| hold-out: sharpe {fmt('holdout.sharpe', held['sharpe']):>6}  "
            f"maxdd {fmt('holdout.max_drawdown', held['max_drawdown']):>6}  "
            f"trades {fmt('holdout.trades', held['trades']):>4}  {'+'.join(m.genome.modules)}"
        )
    if result.checkpoint_dir:
        lines.append(f"front genomes: {result.checkpoint_dir}/front/")
    return "\n".join(lines)


def _registered(registered: dict[str, Any], settings: Any) -> str:
    """What ``--register`` did: the MLflow run, the versions registered and where to look."""
    from gaorg.tracking.store import redact

    versions = [v["version"] for v in registered.get("versions", [])]
    name = registered.get("model")
    listed = ", ".join(versions) or "none"
    return (f"MLflow run {registered['mlflow_run_id']} (experiment gaorg, store {redact(settings.tracking_uri)}); "
            f"registered {name} version{'' if len(versions) == 1 else 's'} {listed}: "
            f"`gaorg models {name}`, `gaorg models --show {name} {versions[0] if versions else 'VERSION'}`, "
            "`gaorg ui`")
