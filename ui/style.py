"""How charts look: one frozen style (type sizes, row heights, colour floors) that every chart function takes.

Presentation mode, the dark theme and the normal lab are different styles, not different code. A style is
hashable, so a figure is cached once per (trace, chart, arguments, style). No Streamlit, no torch.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class ChartStyle:
    font_size: int = 13  # tick labels, hover text, annotations and in-chart text (px)
    title_size: int = 14  # chart titles (px)
    row_px: int = 24  # one heatmap row (an output token)
    unit_row_px: int = 20  # one row of a matrix over hidden units (a token)
    bar_px: int = 230  # a bar or line chart's plot height
    strip_px: int = 90  # a vector drawn as one row of cells
    marker_size: int = 9
    dark: bool = False  # drawn on Streamlit's dark theme
    # The lowest point of the attention scale: 0 keeps Viridis whole; on a dark page, Viridis' near-black start
    # vanishes into the background, so the scale starts higher (a sub-range of Viridis is still uniform).
    scale_floor: float = 0.0
    line_alpha_floor: float = 0.0  # the faintest alignment line drawn (added to its weight's opacity)
    line_rgb: str = "0, 114, 178"  # alignment lines: Okabe-Ito blue, lighter on dark
    muted: str = "#8C8C8C"  # markers and secondary text, readable on light and dark
    # The page's content width at the narrowest screen it is laid out for (1280 px: with the sidebar open in the
    # lab, collapsed in presentation mode); charts fit their tick labels to their share of it.
    content_px: int = 800

    @property
    def char_px(self) -> float:
        """About how wide one character of tick text is, for fitting labels side by side."""
        return 0.62 * self.font_size


NORMAL = ChartStyle()
PRESENT = ChartStyle(
    font_size=18, title_size=22, row_px=34, unit_row_px=28, bar_px=300, strip_px=110, marker_size=12, content_px=1120
)
_DARK = {"dark": True, "scale_floor": 0.22, "line_alpha_floor": 0.2, "line_rgb": "86, 180, 233", "muted": "#A0A0A0"}


def style_for(present: bool = False, dark: bool = False) -> ChartStyle:
    """The style of a page: presentation mode's large type or the lab's, on a light or dark page."""
    base = PRESENT if present else NORMAL
    return replace(base, **_DARK) if dark else base
