"""The pure chart functions (and the text helpers behind their labels) against real Traces of tiny seeded models."""

from __future__ import annotations

import ast
import html
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from seq2seq_viz import greedy, teacher_forced
from seq2seq_viz.config import ModelConfig
from seq2seq_viz.model import Seq2Seq
from seq2seq_viz.vocab import Vocab
from ui import charts
from ui.style import NORMAL, PRESENT, style_for
from ui.text import chart_label, chart_labels, display_token, md_escape, quoted

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.usefixtures("validated_charts")  # every figure passes plotly's validation
SYMBOLS = Vocab.build([list("abcdehlo <>/&$*_`")])


def tiny(cell: str = "gru", attention: str = "general", seed: int = 0, **overrides) -> Seq2Seq:
    config = ModelConfig(task="reverse", level="char", cell=cell, attention=attention, hidden_size=8,
                         embedding_size=6, max_output_len=7, **overrides)  # fmt: skip
    torch.manual_seed(seed)
    return Seq2Seq(config, SYMBOLS, SYMBOLS).eval()


@pytest.fixture(scope="module")
def trace():
    return greedy(tiny(), "hello")


def test_heatmap_is_the_attention_matrix_with_one_column_per_token(trace):
    figure = charts.attention_heatmap(trace)
    heatmap = figure.data[0]
    np.testing.assert_array_equal(heatmap.z, np.asarray(trace.attention))
    assert (heatmap.zmin, heatmap.zmax) == (0, 1)
    assert heatmap.colorscale[0][1].lower() == "#440154"  # Viridis
    xaxis, yaxis = figure.layout.xaxis, figure.layout.yaxis
    assert list(xaxis.tickvals) == list(range(len(trace.source_tokens)))  # "l" twice keeps two columns
    assert list(xaxis.ticktext) == ["h", "e", "l", "l", "o", "&lt;eos&gt;"]
    assert list(yaxis.ticktext) == [chart_label(t) for t in trace.output_tokens]
    assert yaxis.autorange == "reversed"
    i, j = 1, 2
    hover = heatmap.text[i][j]
    assert f"α = {trace.attention[i][j]:.4f}" in hover and f"e = {trace.steps[i].energies[j]:.4f}" in hover


def test_heatmap_highlight_and_divergence_mark(trace):
    figure = charts.attention_heatmap(trace, highlight=2, mark=3)
    outlines = [s for s in figure.layout.shapes if s.type == "rect"]
    assert len(outlines) == 2 and all((s.y0, s.y1) == (1.5, 2.5) for s in outlines)
    line = next(s for s in figure.layout.shapes if s.type == "line")
    assert line.y0 == line.y1 == 2.5


def test_a_fixed_context_trace_has_no_attention_chart():
    trace = greedy(tiny(attention="none"), "abc")
    with pytest.raises(charts.NoAttentionError):
        charts.attention_heatmap(trace)
    with pytest.raises(charts.NoAttentionError):
        charts.alignment_view(trace)
    assert charts.token_probabilities(trace).data[0].y == tuple(s.output_prob for s in trace.steps)


def test_alignment_lines_have_the_weight_as_opacity(trace):
    figure = charts.alignment_view(trace, levels=20)
    lines = [d for d in figure.data if d.mode == "lines"]
    weights = np.asarray(trace.attention)
    expected = int((np.round(weights * 20) > 0).sum())
    assert sum(len(d.x) // 3 for d in lines) == expected  # one segment (x0, x1, None) per visible weight
    for d in lines:
        alpha = float(d.line.color.rsplit(",", 1)[1].rstrip(")"))
        assert 0 < alpha <= 1
    tokens = [d for d in figure.data if d.mode == "markers+text"]
    assert list(tokens[0].text) == charts.source_labels(trace) and list(tokens[1].text) == charts.output_labels(trace)


def test_topk_bars_mark_the_chosen_token(trace):
    step = trace.steps[0]
    figure = charts.topk_bars(step)
    bars = figure.data[0]
    assert list(bars.x) == [p for _, p in step.topk]
    chosen = [i for i, (token, _) in enumerate(step.topk) if token == step.output_token]
    assert [bars.marker.color[i] for i in chosen] == [charts.ACCENT]
    assert "chosen" in bars.text[chosen[0]]


def test_step_tensors_carry_the_trace_values(trace):
    step = trace.steps[1]
    np.testing.assert_array_equal(charts.vector_strip(step.context, "c").data[0].z[0], step.context)
    np.testing.assert_array_equal(
        charts.source_bars(step.weights, trace, "α", probability=True).data[0].y, step.weights
    )


def test_pca_projects_on_the_directions_of_largest_variance():
    # By hand: rows = mean + a_i u + b_i v with u ⟂ v unit vectors and a ⟂ b centred, |a|² = 20 > |b|² = 4, so the
    # components are u and v, the coordinates are a and b (each up to its sign), and they explain 20/24 and 4/24.
    u, v = np.array([1.0, 2.0, 2.0, 0.0, 0.0]) / 3, np.array([0.0, 0.0, 0.0, 0.6, 0.8])
    a, b = np.array([3.0, 1.0, -1.0, -3.0]), np.array([1.0, -1.0, -1.0, 1.0])
    rows = np.array([7.0, -1.0, 0.5, 2.0, 3.0]) + np.outer(a, u) + np.outer(b, v)
    coords, explained = charts.pca_2d(rows)
    np.testing.assert_allclose(explained, [20 / 24, 4 / 24], atol=1e-12)
    by_hand = np.stack([a, b], axis=1)
    signs = np.sign(coords[0]) * np.sign(by_hand[0])  # a component's sign is free: one flip per column, not per point
    np.testing.assert_allclose(coords, by_hand * signs, atol=1e-12)

    # Random states, against the eigenvectors of the covariance matrix (another route than pca_2d's SVD).
    rng = np.random.default_rng(0)
    states = rng.normal(size=(30, 6)) @ rng.normal(size=(6, 6))
    centred = states - states.mean(axis=0)
    variances, vectors = np.linalg.eigh(centred.T @ centred)  # ascending
    top = vectors[:, ::-1][:, :2]
    coords, explained = charts.pca_2d(states)
    np.testing.assert_allclose(explained, variances[::-1][:2] / variances.sum(), rtol=1e-9)
    expected = centred @ top
    np.testing.assert_allclose(coords * np.sign(coords[0]), expected * np.sign(expected[0]), atol=1e-9)

    line, explained = charts.pca_2d(np.outer(np.arange(4.0), [1.0, 2.0, 3.0]))
    np.testing.assert_allclose(line[:, 1], 0, atol=1e-9)
    np.testing.assert_allclose(np.abs(line[:, 0]), np.abs(np.arange(4.0) - 1.5) * np.sqrt(14), atol=1e-9)
    np.testing.assert_allclose(explained, [1.0, 0.0], atol=1e-12)
    single, explained = charts.pca_2d(np.ones((1, 3)))  # a single state: nothing to spread
    assert single.tolist() == [[0.0, 0.0]] and explained.tolist() == [0.0, 0.0]


def test_divergence_is_the_first_step_where_free_running_leaves_the_reference(trace):
    def diverges(output: list[str], gold: list[str] | None) -> int | None:
        return charts.divergence_step(replace(trace, output_tokens=output, reference_tokens=gold))

    assert diverges(["o", "l", "<eos>"], ["o", "l", "<eos>"]) is None
    assert diverges(["o", "x", "<eos>"], ["o", "l", "<eos>"]) == 1
    assert diverges(["o", "l", "l", "<eos>"], ["o", "l", "<eos>"]) == 2
    assert diverges(["o"], ["o", "l", "<eos>"]) == 1  # stopped early (truncated)
    assert diverges(["o", "l"], None) is None  # no reference, nothing to diverge from


def test_teacher_forcing_comparison_plots_both_gold_probabilities():
    model = tiny()
    teacher = teacher_forced(model, "abc", "cba")
    free = greedy(model, "abc", reference="cba")
    figure = charts.teacher_forcing_comparison(teacher, free)
    assert list(figure.data[0].y) == [s.gold_prob for s in teacher.steps]
    assert list(figure.data[1].y) == [s.gold_prob for s in free.steps if s.gold_prob is not None]
    if charts.divergence_step(free) is not None:
        assert any(shape.type == "line" for shape in figure.layout.shapes)


def test_tokens_are_escaped_before_they_become_labels(trace):
    marked = replace(
        trace, source_tokens=["<b>x</b>", "$$", "a&b", " ", "<script>", "<eos>"], unknown_source_tokens=[1]
    )
    labels = charts.source_labels(marked)
    assert labels == ["&lt;b&gt;x&lt;/b&gt;", "&#36;&#36;†", "a&amp;b", "␣", "&lt;script&gt;", "&lt;eos&gt;"]
    figure = charts.attention_heatmap(marked)
    for text in [*figure.layout.xaxis.ticktext, *(cell for row in figure.data[0].text for cell in row)]:
        assert "<b>x" not in text and "<script" not in text


def test_markdown_escaping_keeps_text_literal():
    assert md_escape("<b>x</b> $$ *a* _b_ `c` [d](e)") == (r"\<b\>x\<\/b\> \$\$ \*a\* \_b\_ \`c\` \[d\]\(e\)")
    assert md_escape(":smile: a: b") == "\\:\u2060smile\\: a\\: b"  # no emoji shortcode; ": " stays
    assert display_token(" ") == "␣" and display_token("") == "∅"
    assert chart_labels(["a", "b"], [1]) == ["a", "b†"]


def test_charts_import_neither_streamlit_nor_torch():
    code = "import sys, ui.charts, ui.text, ui.equations; print(sorted({'torch', 'streamlit'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_views_never_import_torch():
    for path in [ROOT / "app.py", *sorted((ROOT / "ui").rglob("*.py"))]:
        source = path.read_text(encoding="utf-8")
        assert "import torch" not in source and "from torch" not in source, path
        assert "unsafe_allow_html" not in source, path
        _only_constant_html(ast.parse(source), path)


def _only_constant_html(tree: ast.Module, path: Path) -> None:
    """st.html may only ever show a module-level string literal (static CSS): no user or model text can reach it."""
    literals = {
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "html" and getattr(node.value, "id", None) == "st":
            call = next((c for c in ast.walk(tree) if isinstance(c, ast.Call) and c.func is node), None)
            assert call is not None, f"{path}: st.html used other than as a call"
            assert len(call.args) == 1 and not call.keywords, f"{path}: st.html takes one argument here"
            argument = call.args[0]
            assert isinstance(argument, ast.Name) and argument.id in literals, f"{path}: st.html of a non-literal"


def _luminance(color: str) -> float:
    """Relative luminance (WCAG) of "#rrggbb" or "rgb(r, g, b)"."""
    if color.startswith("#"):
        channels = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    else:
        channels = [float(v) / 255 for v in color[color.index("(") + 1 : -1].split(",")[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def test_the_dark_style_lifts_the_scale_floor_and_the_faintest_line(trace):
    dark = style_for(dark=True)
    scale = charts.attention_heatmap(trace, style=dark).data[0].colorscale
    dark_page = "#0e1117"  # Streamlit's dark background
    # contrast ratio of the scale's lowest colour against the page: Viridis' own #440154 is ~1.6, the floor lifts it
    ratio = (_luminance(scale[0][1]) + 0.05) / (_luminance(dark_page) + 0.05)
    assert ratio >= 2.0 and scale[-1][1].lower() in ("#fde725", "rgb(253, 231, 37)")  # still ends at Viridis' top
    faint = charts.alignment_view(trace, style=dark).data[0].line.color  # the lowest opacity bucket
    assert float(faint.rsplit(",", 1)[1].rstrip(")")) >= dark.line_alpha_floor
    assert charts.attention_heatmap(trace).data[0].colorscale[0][1].lower() == "#440154"  # light: Viridis whole


def test_hidden_rows_give_nothing_away(trace):
    figure = charts.attention_heatmap(trace, highlight=1, hide_from=2)
    z = figure.data[0].z
    np.testing.assert_array_equal(np.asarray(z[:2], dtype=float), np.asarray(trace.attention)[:2])
    assert all(v is None for row in z[2:] for v in row)
    assert list(figure.layout.yaxis.ticktext[2:]) == ["?"] * (len(trace.steps) - 2)
    hover = " ".join(text for row in figure.data[0].text[2:] for text in row)
    assert "α" not in hover and "e =" not in hover
    bars = charts.token_probabilities(trace, hide_from=1)
    assert (
        list(bars.data[0].y[1:]) == [None] * (len(trace.steps) - 1) and bars.data[0].y[0] == trace.steps[0].output_prob
    )


def test_presentation_style_sets_every_axis_in_large_type(trace):
    for figure in (
        charts.attention_heatmap(trace, style=PRESENT),
        charts.token_probabilities(trace, style=PRESENT),
        charts.step_tensor(trace, 1, "weights", r"\alpha_t", style=PRESENT),
        charts.step_tensor(trace, 1, "probs", "p", max_px=280, style=PRESENT),
    ):
        assert figure.layout.font.size == PRESENT.font_size >= 18
        for axis in (figure.layout.xaxis, figure.layout.yaxis):
            assert axis.tickfont.size == PRESENT.font_size
    topk = charts.step_tensor(trace, 1, "probs", "p", max_px=280, style=PRESENT)
    assert len(topk.data[0].y) == (280 - 60) // PRESENT.row_px and topk.layout.height <= 280


@pytest.mark.parametrize(
    ("source", "expected"),
    [("abc", 1), ("abcdehloabcd", 2), ("abcdehlo" * 3, 4)],
)
def test_alignment_labels_spread_out_until_neighbours_cannot_touch(source, expected):
    figure = charts.alignment_view(greedy(tiny(), source))
    labels = figure.data[-2].text  # the source row
    widths = [len(html.unescape(label.split("<br>")[0])) for label in labels]
    assert max(label.count("<br>") for label in labels) + 1 == expected
    # the independent check: neighbours on one line are `expected` slots apart and their half widths fit in that
    slot = 30 / len(labels)
    for i in range(len(labels) - expected):
        assert (widths[i] + 1 + widths[i + expected] + 1) / 2 <= expected * slot


def test_long_word_rows_stand_their_labels_upright():
    words = Vocab.build([["the", "weather", "is", "nice", "today", "and", "we", "are", "very", "happy"]])
    config = ModelConfig(task="eng-fra", level="word", cell="gru", attention="dot", hidden_size=8, embedding_size=6,
                         max_output_len=5)  # fmt: skip
    torch.manual_seed(0)
    model = Seq2Seq(config, words, SYMBOLS).eval()
    figure = charts.alignment_view(greedy(model, "the weather is nice today and we are very happy"))
    upright = [a for a in figure.to_dict()["layout"]["annotations"] if a["textangle"] == -90]
    assert [a["text"] for a in upright][:3] == ["the", "weather", "is"] and figure.data[-2].mode == "markers"
    # 25 words and <eos> in 30 characters of room: 9.3 px apart, under a 14 px line, so every other word stands
    long = " ".join(["the weather is nice today and we are very happy"] * 2 + ["the weather is nice today"])
    figure = charts.alignment_view(greedy(model, long))
    source = [a for a in figure.to_dict()["layout"]["annotations"] if a["textangle"] == -90 and a["y"] == 1]
    tokens = [*long.split(), "&lt;eos&gt;"]
    assert [a["text"] for a in source] == tokens[::2]
    pitch = 30 * NORMAL.char_px / len(tokens)
    assert 2 * pitch >= charts.LINE * (NORMAL.font_size + 1) > pitch


def test_a_long_list_of_tokens_names_five_and_counts_the_rest():
    tokens = [f"w{i}" for i in range(8)]
    assert quoted(tokens) == "«w0», «w1», «w2», «w3», «w4» and 3 more"
    assert quoted(["*a*"]) == "«\\*a\\*»"  # each token is markdown-escaped


def test_dense_tick_labels_shrink_then_thin_so_none_overlap():
    labels = [f"w{i}" for i in range(20)]
    roomy = charts._fit_ticks(charts._axis(labels), 20 * 30, PRESENT)
    assert "tickfont" not in roomy and roomy["ticktext"] == labels  # 30 px a label: the style's 18 px type fits
    upright = charts._fit_ticks(charts._axis(labels, tickangle=-45), 20 * 18, PRESENT, across=True)
    assert upright["tickangle"] == -90 and upright["ticktext"] == labels  # tilted, 18 px apart is 12.6 across
    assert upright["tickfont"]["size"] == 15 and 15 * charts.LINE <= 18
    thinned = charts._fit_ticks(charts._axis(labels), 20 * 8, PRESENT)
    assert thinned["tickfont"]["size"] == charts.MIN_TICK_PX == 11
    assert thinned["ticktext"] == labels[::2] and thinned["tickvals"] == list(range(0, 20, 2))  # 16 px apart
    kept = charts._fit_ticks(charts._axis(labels), 20 * 8, PRESENT, keep=7)  # the step explained keeps its label
    assert kept["ticktext"] == labels[1::2] and 7 in kept["tickvals"]


def test_bars_over_a_long_source_fit_their_labels_to_their_column():
    config = ModelConfig(task="reverse", level="char", hidden_size=8, embedding_size=6, max_output_len=24)
    torch.manual_seed(0)
    long = greedy(Seq2Seq(config, SYMBOLS, SYMBOLS).eval(), "abcdehlo abcdehlo abc")
    columns = len(long.source_tokens)
    for page_share in (7 / 12, 1 / 3, 1 / 5):
        for tensor in ("energies", "weights"):
            x = charts.step_tensor(long, 3, tensor, "e", page_share=page_share, style=PRESENT).layout.xaxis
            pitch = (1120 * page_share - 90) / columns  # the column less the bars' y axis and margins
            step = x.tickvals[1] - x.tickvals[0]
            assert x.tickangle == -90 and step * pitch >= charts.LINE * x.tickfont.size >= charts.LINE * 11
            assert list(x.ticktext) == charts.source_labels(long)[::step]
    probs = charts.token_probabilities(long, narrow=True, page_share=1 / 5, style=PRESENT).layout.xaxis
    pitch = (1120 / 5 - 90) / len(long.steps)
    step = probs.tickvals[1] - probs.tickvals[0]
    assert step > 1 and step * pitch >= charts.LINE * probs.tickfont.size == charts.LINE * 11


def test_a_long_source_on_a_slide_keeps_every_label_apart():
    config = ModelConfig(task="reverse", level="char", hidden_size=8, embedding_size=6, max_output_len=24)
    torch.manual_seed(0)
    long = greedy(Seq2Seq(config, SYMBOLS, SYMBOLS).eval(), "abcdehlo abcdehlo abc")
    rows, columns = len(long.steps), len(long.source_tokens)
    assert (rows, columns) == (24, 22)
    figure = charts.attention_heatmap(long, highlight=3, title=None, narrow=True, height=380, page_share=0.5,
                                      style=PRESENT)  # fmt: skip
    x, y = figure.layout.xaxis, figure.layout.yaxis
    assert list(x.ticktext) == charts.source_labels(long) and list(y.ticktext) == charts.output_labels(long)
    plot = 1120 / 2 - 0.62 * 18 * 1 - 90  # half a slide, less the one-character row labels and the colour bar
    assert x.tickangle == -90 and plot / columns >= charts.LINE * x.tickfont.size >= charts.LINE * 11
    assert (380 - 20) / rows >= charts.LINE * y.tickfont.size >= charts.LINE * 11
    third = charts.attention_heatmap(
        long, title=None, narrow=True, height=380, page_share=1 / 3, style=PRESENT
    ).layout.xaxis
    pitch = (1120 / 3 - 0.62 * 18 - 90) / columns  # 12.4 px: under a line of the smallest type, so every other one
    assert list(third.ticktext) == charts.source_labels(long)[::2] and list(third.tickvals) == list(
        range(0, columns, 2)
    )
    assert third.tickfont.size == charts.MIN_TICK_PX and 2 * pitch >= charts.LINE * 11 > pitch
    short = charts.attention_heatmap(greedy(tiny(), "hello"), title=None, narrow=True, height=380, page_share=1 / 3,
                                     style=PRESENT)  # fmt: skip
    assert short.layout.xaxis.tickfont.size == short.layout.yaxis.tickfont.size == PRESENT.font_size  # untouched
