"""docs/strategies.md lists every module of the catalogue with every gene and its bounds."""

from __future__ import annotations

from gaorg.strategies.catalogue import CATALOGUE, format_catalogue
from tests.conftest import REPO


def test_strategies_doc_carries_the_current_catalogue_listing():
    doc = (REPO / "docs" / "strategies.md").read_text()
    missing = [line for line in format_catalogue().splitlines() if line.strip() and line not in doc]
    assert not missing, f"docs/strategies.md is stale; regenerate its catalogue block: {missing[:3]}"


def test_the_catalogue_holds_the_twelve_seed_families():
    families = {spec.family for spec in CATALOGUE.values()}
    assert len(families) == 12, sorted(families)
