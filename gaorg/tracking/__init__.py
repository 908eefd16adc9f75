"""MLflow tracking: runs, the model registry, promotion gates and the safe genome loader.

- ``recorder``: ``Recorder`` (start_run, log_params, log_metrics(step), log_artifacts, set_tags;
  a run that raises ends FAILED) and ``MlflowRecorder(settings)``.
- ``log``: ``evolution_callback(recorder)`` (per-generation metrics) and ``log_evolution(result,
  recorder, register=NAME, top_k=20)`` (one run, stage runs, lineage, artifacts, model versions).
- ``registry``: ``list_models``, version tags, aliases, the decision history; ``describe``: each
  version's Markdown description; ``listing``: a sqlite registry read without MLflow (``gaorg models``);
  ``show``: ``gaorg models --show NAME VERSION``. Figures are formatted by ``gaorg.quantities``.
- ``promote``: ``promote(name, version, settings, Gates(...), force=, reason=)``, ``rollback``.
- ``loader``: ``load_production_genome(name, alias, settings)``: genome.json only, validated.
- ``ui``: ``gaorg ui``; ``cli``: ``gaorg promote | rollback | models | ui``.

Nothing here imports MLflow at module level; ``model.py`` (the pyfunc model MLflow loads by path)
is the one exception and is never imported by gaorg.
"""
