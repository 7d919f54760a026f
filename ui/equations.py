"""The decoder step as a chain of equations for each variant, each line naming the tensor it produces.

Pure data (no Streamlit): the Step through page draws each Line's LaTeX beside the live tensor of that name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CELL_TEX = {"rnn": r"\mathrm{RNN}", "gru": r"\mathrm{GRU}", "lstm": r"\mathrm{LSTM}"}


@dataclass(frozen=True)
class Line:
    latex: str  # the equation
    tensor: str  # what to draw beside it: encoder_states, query, state, energies, weights, context,
    #              attentional, probs, fixed_context, initial_state
    symbol: str  # the tensor's math name (LaTeX), e.g. "s_t"
    shape_key: str | None  # its entry in Step.shapes (None: the same name as tensor)
    note: str = ""  # one plain sentence under the label


def score_tex(score: str, query: str) -> str:
    """e_{t,j} = score(query, h_j) for one score function."""
    return {
        "dot": rf"e_{{t,j}} = {query}^{{\top}} h_j",
        "general": rf"e_{{t,j}} = {query}^{{\top}} W_a\, h_j",
        "concat": rf"e_{{t,j}} = v_a^{{\top}} \tanh\!\left(W_a [{query};\, h_j]\right)",
        "additive": rf"e_{{t,j}} = v_a^{{\top}} \tanh\!\left(W {query} + U h_j + b\right)",
    }[score]


def chain(model: dict[str, Any]) -> list[Line]:
    """The equations of one decoder step for the trace's model card (Trace.model)."""
    cell = CELL_TEX.get(model.get("cell", "gru"), r"\mathrm{RNN}")
    style = model.get("style") or ("bahdanau" if model.get("attention") == "additive" else "luong")
    if model.get("attention") == "none" or style == "none":
        return _fixed_context(model, cell)
    keys = Line(
        r"H = [h_1, \dots, h_S]",
        "encoder_states",
        "H",
        "encoder_states",
        "The encoder's states, one row per source token: what attention looks at.",
    )
    weights = Line(
        r"\alpha_t = \mathrm{softmax}(e_t)", "weights", r"\alpha_t", "weights", "The weights sum to 1 over the source."
    )
    context = Line(
        r"c_t = \sum_j \alpha_{t,j}\, h_j", "context", "c_t", "context", "The context: the weighted average of H."
    )
    attentional = Line(r"\hat{s}_t = \tanh\!\left(W_c [c_t;\, s_t]\right)", "attentional", r"\hat{s}_t", "attentional")
    output = Line(
        r"p(y_t \mid y_{<t}, x) = \mathrm{softmax}(W_s\, \hat{s}_t)",
        "probs",
        r"p(y_t)",
        "probs",
        "The most probable next tokens; the chosen one is orange.",
    )
    score = model.get("attention", "general")
    if style == "bahdanau":
        return [
            keys,
            Line(r"s_{t-1}", "query", "s_{t-1}", "query", "Bahdanau: the previous decoder state asks where to look."),
            Line(score_tex(score, "s_{t-1}"), "energies", "e_t", "energies"),
            weights,
            context,
            Line(
                rf"s_t = {cell}\!\left(s_{{t-1}},\, [E\,y_{{t-1}};\, c_t]\right)",
                "state",
                "s_t",
                "state",
                "The context joins the input of the recurrent step.",
            ),
            attentional,
            output,
        ]
    feed = r"[E\,y_{t-1};\, \hat{s}_{t-1}]" if model.get("input_feeding") else r"E\,y_{t-1}"
    return [
        keys,
        Line(
            rf"s_t = {cell}\!\left(s_{{t-1}},\, {feed}\right)",
            "state",
            "s_t",
            "state",
            "Luong: the recurrent step runs first; its new state asks where to look.",
        ),
        Line(score_tex(score, "s_t"), "energies", "e_t", "energies"),
        weights,
        context,
        attentional,
        output,
    ]


def _fixed_context(model: dict[str, Any], cell: str) -> list[Line]:
    every_step = model.get("fixed_context") == "every_step"
    lines = [
        Line(
            r"c = h_S",
            "fixed_context",
            "c",
            "context",
            "No attention: one fixed context vector, the encoder's final state, for the whole output.",
        ),
        Line(
            r"s_0 = \mathrm{bridge}(c)",
            "initial_state",
            "s_0",
            "initial_state",
            "The decoder starts from the context.",
        ),
    ]
    if every_step:
        lines += [
            Line(
                rf"s_t = {cell}\!\left(s_{{t-1}},\, [E\,y_{{t-1}};\, c]\right)",
                "state",
                "s_t",
                "state",
                "The same c is also concatenated to the input at every step (Cho et al. 2014).",
            ),
            Line(r"\hat{s}_t = \tanh\!\left(W_c [c;\, s_t]\right)", "attentional", r"\hat{s}_t", "attentional"),
            Line(
                r"p(y_t \mid y_{<t}, x) = \mathrm{softmax}(W_s\, \hat{s}_t)",
                "probs",
                r"p(y_t)",
                "probs",
                "The most probable next tokens; the chosen one is orange.",
            ),
        ]
    else:
        lines += [
            Line(
                rf"s_t = {cell}\!\left(s_{{t-1}},\, E\,y_{{t-1}}\right)",
                "state",
                "s_t",
                "state",
                "After s_0 the context never enters again (Sutskever et al. 2014).",
            ),
            Line(
                r"p(y_t \mid y_{<t}, x) = \mathrm{softmax}(W_s\, s_t)",
                "probs",
                r"p(y_t)",
                "probs",
                "The most probable next tokens; the chosen one is orange.",
            ),
        ]
    return lines
