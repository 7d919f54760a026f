"""Decoding invariants: beam 1 = greedy, rows sum to 1, shapes are the tensors', teacher forcing sees gold."""

import copy
import math

import numpy as np
import pytest
import torch

from seq2seq_viz import decoding
from seq2seq_viz.config import ModelConfig
from seq2seq_viz.errors import InputError
from seq2seq_viz.model import Seq2Seq
from seq2seq_viz.trace import Beam, BeamNode, Hypothesis
from seq2seq_viz.vocab import BOS_ID, EOS_ID, Vocab

VARIANTS = [
    {"cell": "gru", "attention": "general"},
    {"cell": "lstm", "attention": "additive", "bidirectional": True},
    {"cell": "rnn", "attention": "concat", "layers": 2},
    {"cell": "gru", "attention": "dot", "input_feeding": True},
    {"cell": "lstm", "attention": "none"},
]


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: f"{v['cell']}-{v['attention']}")
def test_beam_width_one_equals_greedy(variant, make_model):
    for seed in range(3):
        model = make_model(seed, **variant)
        for text in ["abc", "jihgf", "a"]:
            greedy = decoding.greedy(model, text)
            beam = decoding.beam_search(model, text, beam_size=1)
            assert beam.output_tokens == greedy.output_tokens
            np.testing.assert_array_equal(beam.attention, greedy.attention)
            assert [s.forced for s in beam.steps] == [s.forced for s in greedy.steps] == [False] * len(beam.steps)
            chain = beam.beam.path(beam.beam.best.node)
            assert len(beam.beam.nbest) == 1 and chain == list(range(1, len(beam.steps) + 1))


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: f"{v['cell']}-{v['attention']}")
def test_attention_rows_sum_to_one_and_shapes_match(variant, make_model):
    model = make_model(1, **variant)
    trace = decoding.greedy(model, "abcd")
    source_len, hidden = len(trace.source_tokens), model.config.hidden_size
    assert trace.source_tokens == ["a", "b", "c", "d", "<eos>"]
    assert len(trace.steps) == len(trace.output_tokens)
    if variant["attention"] == "none":
        assert trace.attention is None and trace.steps[0].weights is None
        np.testing.assert_array_equal(trace.steps[0].context, trace.encoder["context"])
    else:
        matrix = np.array(trace.attention)
        assert matrix.shape == (len(trace.output_tokens), source_len)
        assert np.allclose(matrix.sum(1), 1, atol=1e-5)
    for step in trace.steps:
        shapes = step.shapes
        assert shapes["encoder_states"] == [1, source_len, hidden] == [1, *np.shape(trace.encoder["states"])]
        assert shapes["state"] == [1, len(step.state)]
        assert shapes["attentional"] == [1, len(step.attentional)]
        assert shapes["logits"] == [1, len(model.target_vocab)]
        if step.weights is not None:
            assert shapes["weights"] == shapes["energies"] == [1, len(step.weights)] == [1, source_len]
            assert shapes["context"] == [1, len(step.context)] == [1, hidden]
        for gate, values in step.gates.items():
            assert shapes[f"gate_{gate}"] == [1, len(values)]
        probs = [p for _, p in step.topk]
        assert probs == sorted(probs, reverse=True)
        assert step.topk[0][0] == step.output_token  # free-running greedy picks the top token


def test_teacher_forced_step_sees_exactly_the_gold_prefix(make_model):
    model = make_model(3, attention="additive")
    gold = ["c", "b", "a", "j"]
    trace = decoding.teacher_forced(model, "abc", "cbaj")
    assert [s.input_token for s in trace.steps] == ["<bos>", *gold]
    assert [s.gold_token for s in trace.steps] == [*gold, "<eos>"]
    assert not any(s.forced for s in trace.steps)  # the inputs were gold; the outputs recorded are the argmax
    for t in range(len(trace.steps)):
        fed = decoding.forced_prefix(model, "abc", gold[:t], reference="cbaj") if t else None
        same = (fed or decoding.greedy(model, "abc", reference="cbaj")).steps[t]
        np.testing.assert_array_equal(trace.steps[t].weights, same.weights)  # same state, same attention at t
        np.testing.assert_array_equal(trace.steps[t].state, same.state)
        assert trace.steps[t].gold_prob == same.gold_prob
    assert all(math.isclose(s.loss, -math.log(max(s.gold_prob, 1e-12)), abs_tol=1e-4) for s in trace.steps)


def test_forced_prefix_fixes_the_first_tokens_then_runs_free(make_model):
    model = make_model(4, attention="general")
    trace = decoding.forced_prefix(model, "abc", ["j", "j"])
    assert trace.output_tokens[:2] == ["j", "j"]
    assert [s.forced for s in trace.steps[:3]] == [True, True, False]
    assert trace.steps[2].input_token == "j"
    with pytest.raises(InputError, match="cannot write"):
        decoding.forced_prefix(model, "abc", ["zz"])


def test_sampling_is_seeded(make_model):
    model = make_model(5, attention="general")
    first = decoding.sample(model, "abcde", temperature=1.5, seed=7)
    assert decoding.sample(model, "abcde", temperature=1.5, seed=7).output_tokens == first.output_tokens
    outputs = {tuple(decoding.sample(model, "abcde", temperature=3.0, seed=s).output_tokens) for s in range(6)}
    assert len(outputs) > 1
    with pytest.raises(InputError):
        decoding.sample(model, "abc", temperature=0)


def test_beam_records_a_tree_and_an_nbest_list(make_model):
    model = make_model(6, attention="concat", max_output_len=6)
    trace = decoding.beam_search(model, "abcd", beam_size=3, length_penalty=0.5)
    beam = trace.beam
    assert isinstance(beam, Beam) and (beam.width, beam.length_penalty) == (3, 0.5)
    assert all(isinstance(n, BeamNode) for n in beam.nodes) and all(isinstance(h, Hypothesis) for h in beam.nbest)
    assert [n.id for n in beam.nodes] == list(range(len(beam.nodes)))
    assert beam.nodes[0].parent is None and beam.nodes[0].t == -1
    for node in beam.nodes[1:]:
        parent = beam.nodes[node.parent]
        assert parent.kept and not parent.finished and node.t == parent.t + 1
        assert node.cumulative == pytest.approx(parent.cumulative + node.logprob, abs=2e-6)
        assert node.score == pytest.approx(node.cumulative / (node.t + 1) ** 0.5, abs=1e-6)
        assert node.finished == (node.token == "<eos>")
    for hyp in beam.nbest:  # each result is its path's tokens, its last node's numbers
        last = beam.nodes[hyp.node]
        assert hyp.tokens == tuple(beam.nodes[i].token for i in beam.path(hyp.node))
        assert (hyp.logprob, hyp.score, hyp.finished) == (last.cumulative, last.score, last.finished)
        assert last.kept
    scores = [h.score for h in beam.nbest]
    assert scores == sorted(scores, reverse=True) and len(scores) >= 1
    best = beam.best
    assert best is beam.nbest[0] and list(best.tokens) == trace.output_tokens
    assert math.isclose(best.logprob, sum(math.log(s.output_prob) for s in trace.steps), abs_tol=1e-3)
    # the steps replay the best hypothesis, chosen by the search: nothing was forced by the caller
    assert not any(s.forced for s in trace.steps)
    assert [beam.nodes[i].token for i in beam.path(best.node)] == [s.output_token for s in trace.steps]


def test_trace_arrays_are_the_recorded_step_tensors(make_model):
    model = make_model(8, cell="lstm", attention="general", layers=2)
    trace = decoding.greedy(model, "abcd")
    # α_t recomputed in numpy from what the trace recorded and the model's own W_a: e_tj = s_tᵀ W_a h_j, softmax
    W_a = model.decoder.attention.W_a.weight.detach().double().numpy()
    keys = np.asarray(trace.encoder["states"]) @ W_a.T  # (S, H): W_a h_j
    energies = np.stack([keys @ np.asarray(s.query) for s in trace.steps])  # (T, S)
    weights = np.exp(energies - energies.max(axis=1, keepdims=True))
    weights /= weights.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(np.stack([s.energies for s in trace.steps]), energies, atol=1e-5)
    np.testing.assert_allclose(trace.attention, weights, atol=1e-5)
    for step in trace.steps:
        np.testing.assert_array_equal(step.layer_states[-1], step.state)
        np.testing.assert_array_equal(step.query, step.state)  # Luong scores with s_t
    assert trace.encoder["layers"].shape == (2, 5, 8)


def test_input_caps_unknown_tokens_and_truncation(make_model):
    model = make_model(7, attention="general", max_source_len=5, max_output_len=4)
    with pytest.raises(InputError, match="empty"):
        decoding.greedy(model, "   ")
    with pytest.raises(InputError, match="at most 5"):
        decoding.greedy(model, "abcdefgh")
    trace = decoding.greedy(model, "a?b")
    assert trace.unknown_source_tokens == [1]
    assert len(trace.output_tokens) <= 4
    assert trace.truncated == (trace.output_tokens[-1] != "<eos>")
    with pytest.raises(InputError, match="Unknown decoding mode"):
        decoding.decode(model, "abc", "nucleus")


def test_unknown_words_the_model_writes_stay_in_the_output_text(make_model):
    """<unk> is a word the model wrote ("a word I have no entry for"): the text shows it; framing tokens go."""
    model = make_model(level="word", max_output_len=4)
    with torch.no_grad():
        model.decoder.W_s.bias[3] += 100.0  # <unk> (id 3) wins every step
    trace = decoding.greedy(model, "a b c")
    assert trace.output_tokens == ["<unk>"] * 4 and trace.truncated
    assert trace.output_text == "<unk> <unk> <unk> <unk>"
    beam = decoding.beam_search(model, "a b c", beam_size=2)
    assert all("<unk>" in hyp.text for hyp in beam.beam.nbest)
    assert "<bos>" not in beam.output_text and "<eos>" not in beam.output_text


def test_teacher_forcing_is_truncated_only_when_the_cap_cut_the_reference(make_model):
    model = make_model(3, attention="additive", max_output_len=6)
    short = decoding.teacher_forced(model, "abc", "cb")
    assert short.steps[-1].output_token != "<eos>"  # the untrained argmax is no <eos>: the old rule said truncated
    assert [s.gold_token for s in short.steps] == ["c", "b", "<eos>"] and not short.truncated
    full = decoding.teacher_forced(model, "abc", "cbaje")  # 5 tokens + <eos>: every one of the 6 steps allowed
    assert len(full.steps) == model.config.max_output_len and full.steps[-1].gold_token == "<eos>"
    assert full.steps[-1].output_token != "<eos>" and not full.truncated
    with pytest.raises(InputError, match="reference has 6 tokens; this model writes at most 5"):
        decoding.teacher_forced(model, "abc", "cbajed")  # longer than the cap: refused, never a cut-off trace
    free = decoding.greedy(model, "abc")  # free-running modes keep "stopped at the cap before <eos>"
    assert free.truncated == (free.output_tokens[-1] != "<eos>")


AB = Vocab.build([list("ab")])  # <pad> <bos> <eos> <unk> a b: 6 tokens, so K = 6 expands every token


def _tiny_ab_model(seed: int, **overrides) -> Seq2Seq:
    fields = {"task": "reverse", "level": "char", "hidden_size": 8, "embedding_size": 6, "max_output_len": 3}
    torch.manual_seed(seed)
    return Seq2Seq(ModelConfig(**{**fields, **overrides}), AB, AB).eval()


@torch.no_grad()
def _every_finished_hypothesis(model: Seq2Seq, text: str) -> dict[tuple[int, ...], float]:
    """log p(y | x) of every output ending in <eos> within the cap, walking the explicit cells in float64."""
    exact = copy.deepcopy(model).double()
    source = decoding.prepare_source(exact, text)
    encoded, key_side = exact.encode(source.ids, torch.tensor([source.ids.shape[1]]), explicit=True)
    found: dict[tuple[int, ...], float] = {}

    def walk(prefix: tuple[int, ...], state, logprob: float) -> None:
        y_prev = torch.tensor([prefix[-1] if prefix else BOS_ID])
        logits, state, _ = exact.decoder.step(y_prev, state, encoded, key_side, explicit=True)
        for token, lp in enumerate(torch.log_softmax(logits[0], -1).tolist()):
            ids = (*prefix, token)
            if token == EOS_ID:
                found[ids] = logprob + lp
            elif len(ids) < model.config.max_output_len:
                walk(ids, state, logprob + lp)

    walk((), exact.decoder.initial_state(encoded), 0.0)
    return found


@pytest.mark.parametrize("length_penalty", [0.0, 0.6, 1.0])
@pytest.mark.parametrize("variant", VARIANTS[:4], ids=lambda v: f"{v['cell']}-{v['attention']}")
def test_beam_as_wide_as_the_vocabulary_finds_the_best_hypothesis(variant, length_penalty):
    """Brute force: every <eos>-ended output within the cap (5 + 25 + 1 of them), scored log p / |y|^α."""
    for seed in range(3):
        model = _tiny_ab_model(seed, **variant)
        hypotheses = _every_finished_hypothesis(model, "ab")
        assert len(hypotheses) == 1 + 5 + 25
        score = {ids: lp / len(ids) ** length_penalty for ids, lp in hypotheses.items()}
        ranked = sorted(score, key=score.get, reverse=True)
        assert score[ranked[0]] - score[ranked[1]] > 1e-5  # one best, not a tie within the tolerance

        trace = decoding.beam_search(model, "ab", beam_size=len(AB), length_penalty=length_penalty)
        best = trace.beam.best
        assert list(best.tokens) == trace.output_tokens == AB.decode(list(ranked[0]))
        assert best.score == pytest.approx(score[ranked[0]], abs=1e-6)
        assert best.logprob == pytest.approx(hypotheses[ranked[0]], abs=1e-6)
        nbest_ids = [tuple(AB.encode(list(h.tokens))[0]) for h in trace.beam.nbest]
        assert len(set(nbest_ids)) == len(nbest_ids) >= len(AB)  # K distinct finished hypotheses, or more
        assert all(h.finished for h in trace.beam.nbest)
        for hyp, ids in zip(trace.beam.nbest, nbest_ids, strict=True):
            assert hyp.score == pytest.approx(score[ids], abs=1e-6)
        independent = [score[ids] for ids in nbest_ids]
        assert independent == sorted(independent, reverse=True)  # the n-best list is ordered by the same score
