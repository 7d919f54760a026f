"""Cells: encoder and decoder states over time, the gates of GRU and LSTM cells, and the states' PCA trajectories."""

from __future__ import annotations

import streamlit as st

from ui import charts, components

GATE_NOTES = {
    "reset": "Reset gate r: how much of the previous state the candidate may read (0 = ignore the past).",
    "update": "Update gate z: h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}, so 1 keeps the old state and 0 takes the candidate.",
    "input": "Input gate i: how much of the candidate g is written into the memory cell.",
    "forget": "Forget gate f: how much of the memory cell is kept (1 = keep everything).",
    "output": "Output gate o: how much of the memory cell shows in the state, h = o ⊙ tanh(c).",
}


def page() -> None:
    trace = components.page_trace("Cells")
    if trace is None:
        return

    st.subheader("States over time")
    encoder_col, decoder_col = st.columns(2, gap="medium")
    with encoder_col:
        components.chart(charts.encoder_states, trace, key="cells-encoder-states")
    with decoder_col:
        components.chart(charts.decoder_states, trace, key="cells-decoder-states")
    if trace.model.get("bidirectional"):
        st.caption(
            "The encoder is bidirectional: the first half of each h_j reads left to right, "
            "the second half right to left."
        )

    st.subheader("Gates")
    gates = charts.gate_names(trace)
    if not gates:
        st.info(
            "A plain RNN has no gates: its state is simply h_t = tanh(W x_t + U h_{t−1} + b), rewritten in full at "
            "every step. Pick a GRU or an LSTM to see gates."
        )
    for gate in gates:
        st.caption(GATE_NOTES.get(gate, gate))
        encoder_col, decoder_col = st.columns(2, gap="medium")
        with encoder_col:
            components.chart(charts.gate_heatmap, trace, "encoder", gate, key=f"cells-encoder-{gate}")
        with decoder_col:
            components.chart(charts.gate_heatmap, trace, "decoder", gate, key=f"cells-decoder-{gate}")
    if trace.model.get("cell") == "lstm":
        st.caption("Cell state c: the LSTM's memory, written through the input gate and kept through the forget gate.")
        encoder_col, decoder_col = st.columns(2, gap="medium")
        with encoder_col:
            components.chart(charts.cell_state_heatmap, trace, "encoder", key="cells-encoder-cell")
        with decoder_col:
            components.chart(charts.cell_state_heatmap, trace, "decoder", key="cells-decoder-cell")

    st.subheader("Trajectories")
    components.chart(charts.pca_trajectories, trace, key="cells-pca")
    st.caption(
        "Encoder states h_j and decoder states s_t projected together onto their first two principal components."
    )
    components.downloads(trace, components.file_stem(trace), key="cells-download")


page()
