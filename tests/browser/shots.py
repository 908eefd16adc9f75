"""A screenshot per plotly figure of an HTML file, and whether each figure was drawn.

:func:`figure_boxes` loads a copy of the page in headless Chromium with no network, styled so
that only plotly figures are visible, each outlined in magenta (nothing else on the page is), and
returns one :class:`Box` per outline found in the PNG: how much of its inside is drawn.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests.browser.chromium import screenshot

ONLY_FIGURES = """<style>
.jp-Cell:not(:has(.plotly-graph-div)) { display: none !important; }
.jp-InputArea, .jp-InputPrompt, .jp-OutputPrompt { display: none !important; }
body * { visibility: hidden !important; }
.plotly-graph-div, .plotly-graph-div * { visibility: visible !important; }
.plotly-graph-div { outline: 4px solid #ff00ff !important; outline-offset: 3px; margin: 12px 0; }
</style>"""


@dataclass(frozen=True)
class Box:
    """One figure's outline in the screenshot and what is inside it."""

    top: int
    left: int
    height: int
    width: int
    drawn: float     # share of the inside that is not white
    coloured: int    # pixels of a saturated colour (traces, markers, colour scales; not text or grid)

    def ok(self) -> bool:
        return self.drawn > 0.02 and self.coloured > 200


def figure_count(html: str) -> int:
    return len(re.findall(r'<div [^>]*class="plotly-graph-div"', html))


def figure_boxes(chromium: str, page: Path, png: Path) -> list[Box]:
    """Screenshot ``page`` (figures only, network off) to ``png`` and measure each figure."""
    from PIL import Image
    from scipy import ndimage

    html = page.read_text()
    n = figure_count(html)
    styled = png.with_suffix(".html")
    styled.write_text(html.replace("</head>", ONLY_FIGURES + "</head>", 1))
    screenshot(chromium, styled, png, width=1300, height=min(16000, 950 * max(n, 1) + 300))
    rgb = np.asarray(Image.open(png).convert("RGB")).astype(np.int16)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    magenta = (r > 235) & (g < 30) & (b > 235)
    labels, _ = ndimage.label(magenta)
    boxes = []
    for sl in ndimage.find_objects(labels):
        top, bottom, left, right = sl[0].start, sl[0].stop, sl[1].start, sl[1].stop
        if bottom - top < 80 or right - left < 80:
            continue
        inside = rgb[top + 8:bottom - 8, left + 8:right - 8]
        white = (inside > 245).all(axis=-1)
        spread = inside.max(axis=-1) - inside.min(axis=-1)
        boxes.append(Box(top, left, bottom - top, right - left, float(1 - white.mean()), int((spread > 60).sum())))
    return sorted(boxes, key=lambda x: (x.top, x.left))
