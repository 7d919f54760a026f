"""Cells: a few hidden units over time with their gates, how much of the old state each token keeps (tied to the
decoder step of Step through), the cell's equations, and each network's states in its own PCA plane."""

from __future__ import annotations

import functools

import streamlit as st

from ui import cell_charts, components, state
from ui.text import display_token, md_escape

DEFAULT_K = 8
MAX_K = 12  # more lines than this in one panel cannot be told apart

SIDE_TITLE = {"encoder": "Encoder, reading the source", "decoder": "Decoder, writing the output"}

GRU_TEX = {
    "gates": r"""\begin{aligned}
r_t &= \sigma\!\left(W_{ir}\,x_t + b_{ir} + W_{hr}\,h_{t-1} + b_{hr}\right)\\
z_t &= \sigma\!\left(W_{iz}\,x_t + b_{iz} + W_{hz}\,h_{t-1} + b_{hz}\right)\\
n_t &= \tanh\!\left(W_{in}\,x_t + b_{in} + r_t \odot \left(W_{hn}\,h_{t-1} + b_{hn}\right)\right)
\end{aligned}""",
    "update": r"h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}",
}
LSTM_TEX = {
    "gates": r"""\begin{aligned}
i_t &= \sigma\!\left(W_{ii}\,x_t + b_{ii} + W_{hi}\,h_{t-1} + b_{hi}\right)\\
f_t &= \sigma\!\left(W_{if}\,x_t + b_{if} + W_{hf}\,h_{t-1} + b_{hf}\right)\\
g_t &= \tanh\!\left(W_{ig}\,x_t + b_{ig} + W_{hg}\,h_{t-1} + b_{hg}\right)\\
o_t &= \sigma\!\left(W_{io}\,x_t + b_{io} + W_{ho}\,h_{t-1} + b_{ho}\right)
\end{aligned}""",
    "update": r"""\begin{aligned}
c_t &= f_t \odot c_{t-1} + i_t \odot g_t\\
h_t &= o_t \odot \tanh(c_t)
\end{aligned}""",
}
RNN_TEX = r"h_t = \tanh\!\left(W_{ih}\,x_t + b_{ih} + W_{hh}\,h_{t-1} + b_{hh}\right)"
TEX = {"gru": GRU_TEX, "lstm": LSTM_TEX}
# Our own sentences with inline LaTeX (no user text in them, so they are not escaped).
GATE_NOTES = {
    "gru": r"$r$ (reset) decides how much of the old state the candidate $n$ reads; $z$ (update) decides how much "
    r"of the old state survives: $z = 1$ keeps $h_{t-1}$, $z = 0$ takes $n_t$.",
    "lstm": r"$i$ (input) decides how much of the candidate $g$ is written into the memory $c$; $f$ (forget) how "
    r"much of the old memory is kept ($f = 1$ keeps all of it); $o$ (output) how much of $\tanh(c)$ shows in $h$.",
}
KEEP_NOTES = {
    "gru": r"The mean update gate $z$ over all units, per token. Since $h_t = (1 - z_t) \odot n_t + z_t \odot "
    r"h_{t-1}$, a bar near 1 means the cell mostly kept its old state at this token; near 0, it mostly wrote the "
    r"new candidate $n_t$.",
    "lstm": r"The mean forget gate $f$ over all units, per token. Since $c_t = f_t \odot c_{t-1} + i_t \odot g_t$, "
    r"a bar near 1 means the memory mostly survived this token; near 0, it was mostly erased (the input gate $i$ "
    r"decides what is written).",
}


def page() -> None:
    trace = components.page_trace("Cells", compact=bool(st.session_state.get(state.PRESENT)))
    if trace is None:
        return
    st.caption(
        "What the recurrent cells did with this sentence: a few hidden units over time, the gates that set them, "
        "how much of the old state each token keeps, and each network's path through its own state space."
    )
    _reset_picks_for(trace)
    st.fragment(_cells)(trace)
    components.downloads(trace, components.file_stem(trace), key="cells-download")


def _cells(trace) -> None:
    """Everything the page's own controls change: moving t or choosing units reruns only this fragment, and every
    figure comes from the cache (ui.cache), so nothing is decoded or drawn again."""
    components.pace()  # a fragment run skips app.py, so it keeps its own pace
    last = len(trace.steps) - 1
    t = state.clamp_step(last)
    k = _controls(trace, t, last)
    units = {side: _units(trace, side, k) for side in cell_charts.SIDES}
    kind = cell_charts.cell_kind(trace)

    _equations(trace, kind)

    st.subheader("The chosen units over time")
    notes = {side: _units_sentence(trace, side, units[side]) for side in cell_charts.SIDES}
    _two_sides(trace, cell_charts.unit_lines, units, t, "units", notes)
    if trace.model.get("bidirectional"):
        half = cell_charts.unit_count(trace, "encoder") // 2
        st.caption(
            f"The encoder is bidirectional: units 0–{half - 1} (→) belong to the cell that reads left to right, "
            rf"units {half}–{2 * half - 1} (←) to the one that reads right to left: "
            r"$h_j = [\overrightarrow{h}_j;\, \overleftarrow{h}_j]$."
        )

    if cell_charts.keep_gate(trace) is not None:
        st.subheader("How much of the old state survives each token")
        note = KEEP_NOTES[kind]
        if trace.model.get("bidirectional"):
            note += (
                " The encoder has a bar per direction: → is what the left-to-right cell keeps of the tokens before "
                "$j$, ← what the right-to-left cell keeps of the tokens after $j$."
            )
        st.caption(note)
        _two_sides(trace, cell_charts.keep_bars, None, t, "keep")

    st.subheader("Trajectories, each network in its own space")
    st.caption(_pca_note(trace))
    _two_sides(trace, cell_charts.trajectory, None, t, "pca")


def _two_sides(trace, draw, units: dict | None, t: int, name: str, notes: dict | None = None) -> None:
    """The encoder's chart beside the decoder's (each under its title and note); the decoder's marks step t."""
    columns = st.columns(2, gap="medium")
    for column, side in zip(columns, cell_charts.SIDES, strict=True):
        with column:
            st.markdown(f"**{SIDE_TITLE[side]}**")
            if notes:
                st.caption(notes[side])
            args = (units[side],) if units is not None else ()
            highlight = t if side == "decoder" else None
            components.chart(draw, trace, side, *args, highlight=highlight, key=f"cells-{side}-{name}")


# ---- controls ----


def _reset_picks_for(trace) -> None:
    """Picked units belong to one model's networks: another model starts from the most variable ones again."""
    ss = st.session_state
    name = trace.model.get("name")
    if ss.get(state.CELLS_UNITS_MODEL) != name:
        for key in state.CELLS_UNITS_PICKED.values():
            ss.pop(key, None)
        ss[state.CELLS_UNITS_MODEL] = name


def _controls(trace, t: int, last: int) -> int:
    """The number of units and the decoder step (state.STEP, shared with Step through). Returns k."""
    ss = st.session_state
    most = min(MAX_K, *(cell_charts.unit_count(trace, side) for side in cell_charts.SIDES))
    ss[state.CELLS_UNITS_K] = min(max(int(ss.get(state.CELLS_UNITS_K, DEFAULT_K)), 1), most)
    k_col, step_col = st.columns([1, 3], gap="medium", vertical_alignment="bottom")
    k = int(
        k_col.number_input(
            "Units to show (k)",
            min_value=1,
            max_value=most,
            step=1,
            key=state.CELLS_UNITS_K,
            help="The k units whose state changes most over the sentence (largest standard deviation over tokens).",
        )
    )
    if last > 0:
        ss[state.CELLS_STEP_SLIDER] = t
        step_col.slider(
            "Decoder step t (the same step as on Step through)", 0, last, key=state.CELLS_STEP_SLIDER, on_change=_slid
        )
    step = trace.steps[t]
    st.caption(
        md_escape(
            f"Step t = {t} reads «{display_token(step.input_token)}» and writes "
            f"«{display_token(step.output_token)}»; it is shaded on the decoder's charts."
        )
    )
    with st.expander("Choose the units yourself"):
        columns = st.columns(2, gap="medium")
        for column, side in zip(columns, cell_charts.SIDES, strict=True):
            column.multiselect(
                f"{side.capitalize()} units (empty: the k most variable)",
                list(range(cell_charts.unit_count(trace, side))),
                key=state.CELLS_UNITS_PICKED[side],
                max_selections=MAX_K,
                format_func=functools.partial(cell_charts.unit_label, trace, side),
                placeholder="Type a unit number",
            )
    return k


def _slid() -> None:
    state.set_step(st.session_state[state.CELLS_STEP_SLIDER])


def _units(trace, side: str, k: int) -> tuple[int, ...]:
    picked = st.session_state.get(state.CELLS_UNITS_PICKED[side]) or []
    if picked:
        return tuple(int(u) for u in picked)
    return cell_charts.most_variable_units(trace, side, k)


def _units_sentence(trace, side: str, units: tuple[int, ...]) -> str:
    names = ", ".join(cell_charts.unit_label(trace, side, u) for u in units)
    total = cell_charts.unit_count(trace, side)
    if st.session_state.get(state.CELLS_UNITS_PICKED[side]):
        return f"Units {names}: your choice (of {total})."
    symbol = "$h_j$" if side == "encoder" else "$s_t$"
    return (
        f"Units {names}: the {len(units)} of {total} whose state {symbol} varies most over the "
        f"{'source' if side == 'encoder' else 'output'} (largest standard deviation over tokens), most first."
    )


# ---- the equations ----


def _equations(trace, kind: str) -> None:
    cell = kind.upper() if kind != "rnn" else "plain RNN"
    st.subheader(f"The {cell} cell")
    if kind not in TEX:
        st.info(
            "A plain RNN has no gates: nothing decides how much of the old state to keep, so the whole state is "
            "rewritten at every step by this one equation."
        )
        st.latex(RNN_TEX)
    else:
        gates_col, update_col = st.columns([3, 2], gap="medium", vertical_alignment="center")
        gates_col.latex(TEX[kind]["gates"])
        update_col.latex(TEX[kind]["update"])
        st.caption(GATE_NOTES[kind])
    st.caption(_where_it_runs(trace))


def _where_it_runs(trace) -> str:
    """What x_t and h_t are on each side, and which cell (direction, layer) the recorded gates belong to."""
    model = trace.model
    layers = int(model.get("layers", 1))
    h_enc = cell_charts.unit_count(trace, "encoder")
    encoder = r"Encoder: $x_t$ is source token $j$'s embedding and $h_t$ is $h_j$"
    if model.get("bidirectional"):
        encoder += (
            rf"; two cells with their own weights run it, → left to right (units 0–{h_enc // 2 - 1}) and ← right "
            rf"to left (units {h_enc // 2}–{h_enc - 1}), and $h_j$ and every gate row are [→; ←]"
        )
    style = model.get("style")
    if style == "bahdanau" or (style == "none" and model.get("fixed_context") == "every_step"):
        feed = r"[E\,y_{t-1};\, c_t]"
    elif model.get("input_feeding"):
        feed = r"[E\,y_{t-1};\, \hat{s}_{t-1}]"
    else:
        feed = r"E\,y_{t-1}"
    decoder = rf"Decoder: $x_t = {feed}$ and $h_t$ is $s_t$, one direction."
    text = f"{encoder}. {decoder}"
    if layers > 1:
        text += (
            f" Both have {layers} layers: the charts show the top layer (layer {layers}), whose input $x_t$ is the "
            f"state of layer {layers - 1}."
        )
    return text


def _pca_note(trace) -> str:
    note = (
        r"The encoder's $h_j$ and the decoder's $s_t$ are states of two different networks with their own weights, "
        "so unit 5 of one has nothing to do with unit 5 of the other, and one shared PCA would mix unrelated axes: "
        "each gets its own plane, and the percentages are the share of that network's own variance the plane shows."
    )
    if trace.model.get("bidirectional"):
        note += (
            r" Each encoder point $h_j = [\overrightarrow{h}_j;\, \overleftarrow{h}_j]$ joins what the forward cell "
            r"read up to token $j$ with what the backward cell read from the end back to $j$."
        )
    return note + " The points follow reading order; the ring is decoder step $t$."


page()
