"""Pieces every page draws the same way: decoding with a sentence on failure, charts, downloads, notes."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import plotly.graph_objects as go
import streamlit as st

from . import cache, state
from .text import md_escape, quoted

if TYPE_CHECKING:
    from seq2seq_viz.trace import Trace

logger = logging.getLogger("seq2seq_viz.ui")

PLOTLY_CONFIG = {
    "displaylogo": False,
    "toImageButtonOptions": {"format": "png", "scale": 2},  # plotly's own toolbar gives the PNG
    "modeBarButtonsToRemove": ["select2d", "lasso2d"],
}


PACE_MAX_S = 2.0  # the longest a run is held back (a looping client's runs settle at 1 / runs_rate apart)


# The lab's only CSS, static (no user or model text ever goes into it). Always: Step through's heatmap and chain
# stack when the page is narrower than two readable columns (a 150% zoom of 1280 px, a tablet), instead of
# squeezing the heatmap's labels together. In presentation mode: less padding above the page, so a slide fits 1280×720.
LAB_CSS = """<style>
.st-key-step-body { container-type: inline-size; }
@container (max-width: 700px) {
  .st-key-step-body [data-testid="stHorizontalBlock"] { flex-direction: column; }
  .st-key-step-body [data-testid="stColumn"] { width: 100% !important; flex: 1 1 auto !important; }
}
</style>"""
PRESENT_CSS = """<style>
[data-testid="stMainBlockContainer"] { padding-top: 2.5rem; padding-bottom: 1rem; }
</style>"""


def lab_layout() -> None:
    st.html(LAB_CSS)
    if st.session_state.get(state.PRESENT):
        st.html(PRESENT_CSS)


def pace() -> None:
    """Hold back the run of a session that sends runs faster than any person clicks (seq2seq_viz.limits).

    Sleeping costs no CPU and only this session waits; the requests it sends meanwhile fold into one run.
    """
    wait = cache.session_budget().pace()
    if wait > 0:
        time.sleep(min(wait, PACE_MAX_S))


def decode(model: cache.Model, text: str, mode: str = "greedy", **kwargs: Any) -> Trace | None:
    """The cached Trace, or None after one warning sentence (empty text, too long, unknown forced token...)."""
    try:
        return cache.trace(model, text, mode, **kwargs)
    except cache.Seq2SeqVizError as exc:
        st.warning(md_escape(str(exc)))
        return None


def page_trace(title: str, compact: bool = False) -> Trace | None:
    """The header of a page that shows the sidebar's decode, then that decode (None after a warning).

    compact: a smaller header (presentation mode, where the page must fit one projected screen)."""
    selection = state.selection(cache.catalog())
    (st.subheader if compact else st.header)(title)
    trace = decode(selection.model, selection.text, selection.mode, options=selection.options)
    if trace is not None:
        unknown_note(trace)
    return trace


def plot(figure: go.Figure, key: str, on_select: Callable[[], None] | None = None) -> None:
    """on_select: called when a click selects points (one at a time); they are in st.session_state[key]."""
    if on_select is None:
        st.plotly_chart(figure, key=key, config=PLOTLY_CONFIG, theme="streamlit")
    else:
        st.plotly_chart(figure, key=key, config=PLOTLY_CONFIG, theme="streamlit", on_select=on_select,
                        selection_mode="points")  # fmt: skip


def chart(
    draw: Callable[..., go.Figure],
    trace: Trace,
    *args: Hashable,
    key: str,
    on_select: Callable[[], None] | None = None,
    **kwargs: Hashable,
) -> None:
    """Plot draw(trace, *args, **kwargs) in this run's style (ui.style), drawn once per trace, arguments and style
    for the whole server (ui.cache). on_select: as plot's (not an argument of draw)."""
    kwargs.setdefault("style", state.chart_style())
    plot(cache.figure(draw, trace, *args, **kwargs), key=key, on_select=on_select)


def output_box(text: str, key: str) -> None:
    """A decode's output text in a box. Not st.code: that loads Streamlit's 1.6 MB syntax highlighter, 0.3 s of a
    new browser's first visit (bench/browser_latency.py), to show one line of plain text."""
    with st.container(border=True, key=key):
        st.markdown(md_escape(text) if text else "*(nothing but the end token)*")


def downloads(trace: Trace, stem: str, key: str) -> None:
    """The trace as JSON and its attention matrix as CSV (generated only when clicked).

    Short labels in a row that wraps: "Download the attention (CSV)" was cut to "Download the attentio…" in a
    quarter of a 1280 px screen; the download icon says what the button does, the tooltip says it in full.
    """
    files = [("Trace (JSON)", "the whole decode as JSON", trace.to_json, "trace.json", "application/json")]
    if trace.attention is not None:
        files.append(
            ("Attention (CSV)", "the attention matrix as CSV", trace.attention_csv, "attention.csv", "text/csv")
        )
    row = st.container(horizontal=True, gap="small", vertical_alignment="center")
    for label, what, data, suffix, mime in files:
        row.download_button(
            label,
            data=data,  # a callable: the file is made only when clicked
            file_name=f"{stem}.{suffix}",
            mime=mime,
            key=f"{key}-{suffix.split('.')[-1]}",
            on_click="ignore",
            icon=":material/download:",
            help=f"Download {what}.",
        )
    if trace.attention is None:
        row.caption("No attention matrix to download: this model uses one fixed context vector.")


def file_stem(trace: Trace) -> str:
    """A file name from the model and mode only (user text never becomes a file name)."""
    return f"{trace.model.get('name', 'model')}-{trace.mode}"


def unknown_note(trace: Trace) -> None:
    if not trace.unknown_source_tokens:
        return
    tokens = list(dict.fromkeys(trace.source_tokens[i] for i in trace.unknown_source_tokens))
    them = "it" if len(tokens) == 1 else "them"
    st.warning(
        f"The model never saw {quoted(tokens)} in training, so it read {them} as an unknown token "
        f"(marked † in the charts)."
    )


def truncation_note(trace: Trace) -> None:
    if trace.truncated:
        st.info(
            f"Decoding stopped after {len(trace.steps)} steps, the model's output cap, before writing the end token."
        )


@contextmanager
def sentences_not_tracebacks() -> Iterator[None]:
    """Errors reach the screen as one sentence; the traceback goes to the server log only."""
    try:
        yield
    except cache.Seq2SeqVizError as exc:
        st.error(md_escape(str(exc)))
    except Exception:
        logger.exception("the page failed")
        st.error("Something went wrong while drawing this page. Try another input or model; the details are logged.")
