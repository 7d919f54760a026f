"""AppTest of presentation mode on every page: a prepared link opens in it, and every chart is drawn in its type."""

from __future__ import annotations

import pytest
from app_support import assert_clean, figures, run_app, zoo  # noqa: F401  (zoo is a fixture)

from ui.style import NORMAL, PRESENT

PAGES = ["ui/views/translate.py", "ui/views/step.py", "ui/views/cells.py", "ui/views/teacher_forcing.py",
         "ui/views/beam.py", "ui/views/compare.py", "ui/views/attribution.py", "ui/views/models.py"]  # fmt: skip


@pytest.fixture(scope="module", autouse=True)
def _zoo(zoo):  # noqa: F811
    return zoo


def _axis_fonts(spec: dict) -> list[float]:
    layout = spec["layout"]
    return [axis["tickfont"]["size"] for name, axis in layout.items() if name.startswith(("xaxis", "yaxis"))
            and "tickfont" in axis]  # fmt: skip


@pytest.mark.parametrize("page", PAGES)
def test_every_chart_of_every_page_is_drawn_large_in_presentation_mode(page):
    at = run_app(page, model="reverse-gru-general", text="abc", present="1")
    assert_clean(at)
    found = figures(at)
    assert found, page
    for key, spec in found.items():
        assert spec["layout"]["font"]["size"] == PRESENT.font_size, key
        assert all(size >= PRESENT.font_size for size in _axis_fonts(spec)), key
    assert at.query_params["present"] == "1"
    at.toggle(key="present").set_value(False).run()
    for key, spec in figures(at).items():
        assert spec["layout"]["font"]["size"] == NORMAL.font_size, key
