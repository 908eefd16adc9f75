"""How a promotion gate names the series it re-scored: all of a small basket, a count of a universe's."""

from __future__ import annotations

from gaorg.tracking.rescore import series_text


def test_a_small_basket_is_named_in_full_a_large_one_by_its_first_three_and_a_count():
    series = [("hyperliquid", f"U{i:02d}/USDC:USDC", "4h", 0) for i in range(30)]
    assert series_text(series[:2]) == "U00/USDC:USDC 4h, U01/USDC:USDC 4h"
    assert series_text(series[:4]).count(", ") == 3
    assert series_text(series) == "30 series: U00/USDC:USDC 4h, U01/USDC:USDC 4h, U02/USDC:USDC 4h and 27 more"
