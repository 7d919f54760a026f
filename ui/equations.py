"""The decoder step as a chain of equations for each variant, each line naming the tensor it produces.

Pure data (no Streamlit): the Step through page draws each Line's LaTeX beside the live tensor of that name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from seq2seq_viz.config import decoder_style  # torch-free: the core's rule, not a copy of it

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
    score = model.get("attention", "general")
    style = decoder_style(score, model.get("style"))  # a trace's card already holds it; hand-made cards may not
    if style == "none":
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
    output = _output(r"\hat{s}_t")
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


def _output(read: str) -> Line:
    """p(y_t) = softmax(W_s · read + b_s): the output projection has a bias (nn.Linear), W_c and W_a do not."""
    return Line(
        rf"p(y_t \mid y_{{<t}}, x) = \mathrm{{softmax}}(W_s\, {read} + b_s)",
        "probs",
        r"p(y_t)",
        "probs",
        "The most probable next tokens; the chosen one is orange.",
    )


def final_state_tex(model: dict[str, Any], layer: str = "") -> str:
    """The encoder's final state of one layer as the code takes it (Encoder._by_layer): h_S one way; both ways,
    the forward direction's state after the last token and the backward direction's after the first, [→h_S; ←h_1]."""
    sup = f"^{{({layer})}}" if layer else ""
    if model.get("bidirectional"):
        return rf"[\overrightarrow{{h}}{sup}_S;\, \overleftarrow{{h}}{sup}_1]"
    return rf"h{sup}_S"


def _fixed_context(model: dict[str, Any], cell: str) -> list[Line]:
    every_step = model.get("fixed_context") == "every_step"
    layers = int(model.get("layers", 1) or 1)
    top = "L" if layers > 1 else ""
    where = "the top layer's final state" if layers > 1 else "the encoder's final state"
    if model.get("bidirectional"):
        where += ": the forward direction after the last token and the backward direction after the first"
    lstm = model.get("cell") == "lstm"
    linear = model.get("bridge") == "linear"
    if layers > 1:
        final = final_state_tex(model, "l")
        bridged = rf"\tanh\!\left(W_b\, {final}\right)" if linear else final
        s0 = rf"s^{{(l)}}_0 = {bridged},\ \ l = 1, \dots, {layers}"
        s0_note = f"Each of the decoder's {layers} layers starts from the same layer of the encoder"
    else:
        s0 = r"s_0 = \tanh\!\left(W_b\, c\right)" if linear else r"s_0 = c"
        s0_note = "The decoder starts from the context"
    s0_note += (", through the bridge W_b" if linear else "") + (
        "; the LSTM's memory cell starts from the encoder's final memory cell the same way." if lstm else "."
    )
    lines = [
        Line(
            rf"c = {final_state_tex(model, top)}",
            "fixed_context",
            "c",
            "context",
            f"No attention: one fixed context vector for the whole output, {where}.",
        ),
        Line(s0, "initial_state", "s_0", "initial_state", s0_note),
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
            _output(r"\hat{s}_t"),
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
            _output("s_t"),
        ]
    return lines
