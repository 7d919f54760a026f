"""Training speed against Joey NMT 2.3.0 on the same model, the same data split and the same machine.

    python bench/vs_joey.py                              # both configurations, 1 and 2 threads, 300 updates
    python bench/vs_joey.py --configs luong --threads 1 --updates 200 --repeats 2
    python bench/vs_joey.py --free-split                 # ours only: the ceiling of data parallelism on 2 cores

The peer is the harness in ../shared/peers/joeynmt (read its README): its setup.sh makes Joey's venv, its
prepare_data.py the split (tokenized, lowercased; train 73,037 pairs), and Joey trains from its YAML configs with
one override, the encoder's hidden size 128 per direction (the reference setup below). Ours trains on the very
same tokenized files. The two sides alternate run by run (Joey, ours, Joey, ours, ...), each in a fresh process
with OMP_NUM_THREADS / MKL_NUM_THREADS and torch's threads set, so both see the same machine load.

The reference setup, both sides: GRU, word level, vocabularies of the words seen at least twice (at most 6,000 +
4 specials a side), E = 128, a bidirectional one-layer encoder of 128 per direction, a one-layer decoder of 256
bridged from the encoder's final states (s_0 = tanh(W [→h_S; ←h_1] + b)), dropout 0.1, Adam (lr 1e-3), gradient
norm clipped to 1, batches of 64 sentence pairs, loss = mean cross-entropy per target token, teacher forcing.
  luong     Luong "general" attention with input feeding (both sides: the same equations)
  bahdanau  additive attention; ours is Bahdanau's decoder (score with s_{t-1}, context into the RNN), Joey's is
            its Luong-style decoder with an additive score queried with s_t and input feeding (see DIFFERENCES)

Figures, per configuration × threads: target tokens/s (non-pad target tokens, </s> included, per second of the
training loop: Joey from its "EPOCH 1" log line to "Training ended", start-up excluded; ours the whole train()
call, model build and batching included, the imports Adam's first use makes excluded), the ratio ours / Joey,
and the limit: the floating-point work of one update over the real target positions divided by this machine's
measured matmul rate in the output layer's shapes, and how close each side comes to it. At one thread it also
profiles ours (60 updates, torch's profiler) for the share of its update spent in work no implementation of the
model avoids (matmul kernels, log-softmax over the target vocabulary and its backward, Adam), and sets 2.5× Joey
against the fastest ours could train if everything else took no time: its rate over that share. The profiler
slows the small ops most, so the share is if anything low and that ceiling high. Figures, not asserts. Prints one
JSON document.

--free-split measures the ceiling of sharing one update between two cores (data parallelism) without Joey: ours
on one thread with batches of 64, then two one-thread processes side by side, each training on batches of 32,
exchanging nothing. Their tokens together per second bound any real data-parallel split, which would also add
the two halves' gradients every update; the ratio to the one-thread run is the most that data parallelism on two
cores can give.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HARNESS = ROOT.parent / "shared" / "peers" / "joeynmt"
VENV = Path(os.environ.get("JOEY_VENV", "/tmp/peers/joey-venv"))
DATA = Path(os.environ.get("DATA_DIR", "/tmp/peers/data"))
WORK = Path(os.environ.get("BENCH_WORK", "/tmp/peers/vs_joey"))
CONFIGS = {"luong": "config_gru_luong.yaml", "bahdanau": "config_gru_bahdanau.yaml"}
LOG_TS = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) - ", re.M)
STEP_LOSS = re.compile(r"Step:\s+(\d+), Batch Loss:\s+([\d.]+)")

DIFFERENCES = [
    "bahdanau: ours is Bahdanau et al.'s decoder (e_t = score(s_{t-1}, h), c_t enters the RNN); Joey's 'bahdanau' "
    "is its Luong-style decoder with an additive score queried with s_t, input feeding and ŝ_t = tanh(W_c[s_t; c_t])"
    " (same parameter count within 2%, about the same work per step)",
    "batches: Joey draws random batches of 64 pairs; ours groups pairs of similar length (sorted within chunks of "
    "50 batches, batch order shuffled), and its step loop runs only the rows still writing (no padded position)",
    "dropout: Joey drops the embeddings, the RNN input [y; ŝ_{t-1}] and [s_t; c_t]; ours drops the RNN input "
    "[y; c_t or ŝ_{t-1}] and ŝ_t before W_s (0.1 everywhere)",
    "initialisation: Joey xavier_uniform; ours torch's defaults",
    "the output layer: Joey's W_s has no bias, ours has one",
    "timing: Joey's window excludes its start-up (imports, data, vocabulary, model); ours excludes imports, data "
    "and vocabulary but includes the model build and all batching",
]


# ---- the peer ----


def ensure_peer() -> None:
    """Joey's venv and the split, made by the harness's own scripts when missing."""
    if not HARNESS.is_dir():
        raise SystemExit(f"the Joey NMT harness is not at {HARNESS}")
    subprocess.run(["bash", str(HARNESS / "setup.sh")], check=True, env={**os.environ, "JOEY_VENV": str(VENV)})
    if not (DATA / "train.en").exists():
        subprocess.run(
            [str(VENV / "bin" / "python"), str(HARNESS / "prepare_data.py"), str(ROOT.parent / "shared" / "data" /
             "eng-fra.tsv"), str(DATA)], check=True, stdout=sys.stderr)  # fmt: skip


def _threads_env(threads: int) -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}


def joey_run(config: str, threads: int, updates: int) -> dict:
    sys.path.insert(0, str(HARNESS))
    import yaml
    from derive_config import derive

    run_dir = WORK / f"joey_{config}_t{threads}"
    overrides = {
        "model_dir": str(run_dir), "data.train": f"{DATA}/train", "data.dev": f"{DATA}/dev",
        "data.test": f"{DATA}/test", "training.updates": updates, "training.logging_freq": 50,
        "training.validation_freq": 10**9, "training.overwrite": True,
        "model.encoder.hidden_size": 128,  # 128 per direction, 256-d encoder states (the reference setup)
    }  # fmt: skip
    cfg = derive(
        yaml.safe_load((HARNESS / CONFIGS[config]).read_text()),
        [f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in overrides.items()],
    )
    cfg_path = WORK / f"joey_{config}_t{threads}.yaml"
    cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    python = str(VENV / "bin" / "python")
    started = time.perf_counter()
    out = subprocess.run([python, "-m", "joeynmt", "train", str(cfg_path), "--skip-test"], env=_threads_env(threads),
                         capture_output=True, text=True)  # fmt: skip
    wall = time.perf_counter() - started
    if out.returncode:
        raise SystemExit(f"Joey failed: {out.stderr[-2000:]}")
    log = (run_dir / "train.log").read_text(errors="replace")
    seconds = (_log_time(log, "Training ended") - _log_time(log, "EPOCH 1")).total_seconds()
    # the peer's own checkpoint, read in its own interpreter; weights_only: plain tensors and numbers, nothing unpickled
    read = "import torch,sys,json; s=torch.load(sys.argv[1],map_location='cpu',weights_only=True)['stats_state'];"
    read += "print(json.dumps([int(s['total_tokens']), int(s['steps'])]))"
    tokens, steps = json.loads(subprocess.check_output([python, "-c", read, str(run_dir / "latest.ckpt")]))
    parameters = re.search(r"Total params:\s*([\d,]+)", log)
    return {
        "side": "joey",
        "updates": steps,
        "target_tokens": tokens,
        "seconds": round(seconds, 2),
        "tokens_per_second": round(tokens / seconds, 1),
        "process_wall_s": round(wall, 1),
        "parameters": int(parameters.group(1).replace(",", "")) if parameters else None,
        "loss_by_update": {int(s): float(v) for s, v in STEP_LOSS.findall(log)},
    }


def _log_time(text: str, marker: str) -> datetime:
    for line in text.splitlines():
        if marker in line:
            match = LOG_TS.match(line)
            if match:
                return datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f")
    raise SystemExit(f"no log line with {marker!r}")


# ---- ours (in its own process: python bench/vs_joey.py --ours CONFIG THREADS UPDATES) ----


def read_pairs(split: str = "train") -> list[tuple[list[str], list[str]]]:
    source = (DATA / f"{split}.en").read_text(encoding="utf-8").splitlines()
    target = (DATA / f"{split}.fr").read_text(encoding="utf-8").splitlines()
    return [(s.split(), t.split()) for s, t in zip(source, target, strict=True)]


def reference_configs(config: str):
    from seq2seq_viz.config import ModelConfig, TrainConfig

    model = ModelConfig(
        task="eng-fra", level="word", cell="gru", attention="general" if config == "luong" else "additive",
        input_feeding=config == "luong", embedding_size=128, hidden_size=256, bidirectional=True, bridge="linear",
        dropout=0.1, max_source_len=64, max_output_len=64,
    )  # fmt: skip
    train = TrainConfig(epochs=1, batch_size=64, lr=1e-3, clip=1.0, seed=0, device="cpu", min_freq=2, max_vocab=6004)
    return model, train


def ours_run(config: str, threads: int, updates: int, fast: bool = True, batch_size: int = 64) -> dict:
    import dataclasses

    import torch

    from seq2seq_viz.checkpoint import parameter_count
    from seq2seq_viz.train import build_vocabs, train

    torch.set_num_threads(threads)
    pairs = read_pairs()
    model_config, train_config = reference_configs(config)
    train_config = dataclasses.replace(train_config, max_steps=updates, fast=fast, batch_size=batch_size)
    vocabs = build_vocabs(pairs, train_config.min_freq, train_config.max_vocab)
    torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))])  # its first use imports ~1 s of torch: not training
    tokens, losses = [0], {}

    def on_step(progress) -> None:
        tokens[0] += progress.tokens
        losses[progress.step] = round(progress.loss, 4)

    started = time.perf_counter()
    result = train(model_config, train_config, pairs, [], vocabs=vocabs, on_step=on_step)
    seconds = time.perf_counter() - started
    return {
        "side": "ours",
        "updates": result.steps,
        "target_tokens": tokens[0],
        "seconds": round(seconds, 2),
        "tokens_per_second": round(tokens[0] / seconds, 1),
        "parameters": parameter_count(result.model),
        "vocabularies": [len(v) for v in vocabs],
        "loss_by_update": {s: v for s, v in losses.items() if s % 50 == 0 or s == 1},
    }


def run_ours(config: str, threads: int, updates: int) -> dict:
    return run_ours_side_by_side(config, threads, updates, 64, copies=1)[0]


def run_ours_side_by_side(config: str, threads: int, updates: int, batch_size: int, copies: int) -> list[dict]:
    """`copies` processes of ours started together, each with `threads` threads; their results once all end."""
    return _children(["--ours", config, str(threads), str(updates), str(batch_size)], threads, copies)


def _children(args: list[str], threads: int, copies: int = 1) -> list[dict]:
    """`copies` processes of this script with `args`, started together with `threads` threads each; the JSON each
    prints, once all end."""
    procs = [
        subprocess.Popen([sys.executable, __file__, *args], env=_threads_env(threads), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, cwd=ROOT)
        for _ in range(copies)
    ]  # fmt: skip
    results = []
    for proc in procs:
        stdout, stderr = proc.communicate()
        if proc.returncode:
            raise SystemExit(f"{args[0]} failed: {stderr[-2000:]}")
        results.append(json.loads(stdout))
    return results


def free_split(configs: list[str], updates: int, repeats: int) -> dict:
    """Ours on one thread (batches of 64) against two one-thread copies side by side on batches of 32 (see the
    module's docstring), alternating, with the ratio of their target tokens per second."""
    runs = {}
    for config in configs:
        rates: dict[str, list[float]] = {"alone": [], "pair": []}
        for repeat in range(repeats):
            for side in ("alone", "pair") if repeat % 2 == 0 else ("pair", "alone"):
                if side == "alone":
                    rate = run_ours(config, 1, updates)["tokens_per_second"]
                else:  # each copy runs the same number of updates on half batches: tokens over the slower's time
                    both = run_ours_side_by_side(config, 1, updates, 32, copies=2)
                    rate = round(sum(r["target_tokens"] for r in both) / max(r["seconds"] for r in both), 1)
                rates[side].append(rate)
                print(f"{config} {side}: {rate} tok/s", file=sys.stderr)
        one, two = statistics.median(rates["alone"]), statistics.median(rates["pair"])
        runs[config] = {"one_thread_batch_64": one, "two_processes_batch_32": two, "ratio": round(two / one, 2),
                        "runs": rates}  # fmt: skip
    return runs


# ---- the limit: the floating-point work of one update over this machine's matmul rate ----


def update_flops(config: str, batches: list) -> float:
    """Floating-point operations of one average update counted over real positions only (forward + backward ≈
    3 × forward; a multiply-add is 2): what no implementation of this model can avoid."""
    e, h, hd = 128, 256, 128
    source_vocab, target_vocab = batches[0], batches[1]
    n = statistics.mean(b["target"] for b in batches[2])  # real target positions (with </s>)
    s_total = statistics.mean(b["source"] for b in batches[2])  # real source positions (with </s>)
    s_mean = statistics.mean(b["source_per_row"] for b in batches[2])  # mean source length
    del source_vocab
    macs = 0.0
    macs += s_total * 2 * (e * 3 * hd + hd * 3 * hd)  # bidirectional GRU encoder
    macs += 64 * h * h  # the bridge
    macs += s_total * h * h  # the key side: W_a h (general) or U h (additive), once per source position
    macs += n * ((e + h) * 3 * h + h * 3 * h)  # the decoder GRU, its input [y; c or ŝ]
    macs += n * s_mean * h * 2  # energies and context
    macs += n * h * h * (1 if config == "bahdanau" else 0)  # W s_{t-1}
    macs += n * 2 * h * h  # W_c
    macs += n * h * target_vocab  # W_s, over the real positions: the bulk
    return 2 * 3 * macs


def batch_shapes(config: str, updates: int) -> list:
    """Vocabulary sizes and, for the first `updates` batches ours trains on, real target and source positions."""
    import torch

    from seq2seq_viz.train import batches, build_vocabs

    pairs = read_pairs()
    _, train_config = reference_configs(config)
    vocabs = build_vocabs(pairs, train_config.min_freq, train_config.max_vocab)
    generator = torch.Generator().manual_seed(0)
    shapes = []
    for batch in batches(pairs, *vocabs, 64, generator)[:updates]:
        real_source = int(batch.lengths.sum())
        shapes.append({"target": batch.target_tokens, "source": real_source, "source_per_row": real_source / 64})
    return [len(vocabs[0]), len(vocabs[1]), shapes]


def matmul_rate(threads: int) -> float:
    """FLOP/s of float32 matmuls in the output layer's three shapes (the bulk of the work): the forward S W_sᵀ and
    the backward G W_s and Gᵀ S, over ~480 positions and 6,004 words; their total work over their total time, best
    of several."""
    import torch

    torch.set_num_threads(threads)
    s, w, g = torch.randn(480, 256), torch.randn(6004, 256), torch.randn(480, 6004)
    best = 0.0
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(10):
            s @ w.T, g @ w, g.T @ s
        best = max(best, 10 * 3 * 2 * 480 * 256 * 6004 / (time.perf_counter() - started))
    return best


# ---- where ours' time goes at one thread ----

MATMUL_OPS = ("aten::mm", "aten::addmm", "aten::bmm")
LOG_SOFTMAX_OPS = ("aten::_log_softmax", "aten::_log_softmax_backward_data")
ADAM_OPS = ("aten::_fused_adam_",)


def ours_profile(config: str, updates: int) -> dict:
    """Ours on one thread under torch's profiler (after 5 updates of warm-up): milliseconds per update in all, in
    matmul kernels, in log-softmax forward and backward over the 6,004 words, and in Adam, with the top ops."""
    import dataclasses

    import torch
    from torch.profiler import ProfilerActivity, profile

    from seq2seq_viz.train import build_vocabs, train

    torch.set_num_threads(1)
    pairs = read_pairs()
    model_config, train_config = reference_configs(config)
    vocabs = build_vocabs(pairs, train_config.min_freq, train_config.max_vocab)
    train(model_config, dataclasses.replace(train_config, max_steps=5), pairs, [], vocabs=vocabs)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        started = time.perf_counter()
        result = train(model_config, dataclasses.replace(train_config, max_steps=updates), pairs, [], vocabs=vocabs)
        seconds = time.perf_counter() - started
    ops = {e.key: e.self_cpu_time_total / 1e3 / result.steps for e in prof.key_averages()}  # ms per update

    def ms(names: tuple[str, ...]) -> float:
        return round(sum(ops.get(name, 0.0) for name in names), 1)

    top = sorted(ops.items(), key=lambda item: -item[1])[:8]
    return {
        "updates": result.steps,
        "ms_per_update": round(1e3 * seconds / result.steps, 1),
        "matmul_kernels_ms": ms(MATMUL_OPS),
        "log_softmax_ms": ms(LOG_SOFTMAX_OPS),
        "adam_ms": ms(ADAM_OPS),
        "top_ops_ms": {name: round(value, 1) for name, value in top},
    }


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--ours":
        sys.path.insert(0, str(ROOT))
        batch_size = int(sys.argv[5]) if len(sys.argv) > 5 else 64
        print(json.dumps(ours_run(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), batch_size=batch_size)))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--profile-ours":
        sys.path.insert(0, str(ROOT))
        print(json.dumps(ours_profile(sys.argv[2], int(sys.argv[3]))))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", nargs="+", choices=list(CONFIGS), default=list(CONFIGS))
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--updates", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=1, help="Joey/ours pairs per configuration and thread count")
    parser.add_argument("--free-split", action="store_true", help="ours only: one thread against two half-batch copies")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    if args.free_split:
        report = {"machine": {"cpus": os.cpu_count(), "load_before": os.getloadavg()}, "updates": args.updates,
                  "free_split": free_split(args.configs, args.updates, args.repeats)}  # fmt: skip
        report["machine"]["load_after"] = os.getloadavg()
        print(json.dumps(report, indent=1))
        return
    ensure_peer()
    WORK.mkdir(parents=True, exist_ok=True)
    report: dict = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_before": os.getloadavg()},
        "updates": args.updates,
        "differences": DIFFERENCES,
        "runs": {},
    }
    for config in args.configs:
        shapes = batch_shapes(config, args.updates)
        flops = update_flops(config, shapes)
        for threads in args.threads:
            rate = matmul_rate(threads)
            joey, ours = [], []
            for repeat in range(args.repeats):
                sides = [("joey", joey_run), ("ours", run_ours)]
                for side, run in sides if repeat % 2 == 0 else sides[::-1]:
                    result = run(config, threads, args.updates)
                    (joey if side == "joey" else ours).append(result)
                    print(f"{config} {threads} thread(s) {side}: {result['tokens_per_second']} tok/s", file=sys.stderr)
            joey_rate = statistics.median(r["tokens_per_second"] for r in joey)
            ours_rate = statistics.median(r["tokens_per_second"] for r in ours)
            tokens_per_update = statistics.mean(b["target"] for b in shapes[2])
            limit = tokens_per_update / (flops / rate)
            report["runs"][f"{config}-{threads}t"] = {
                "joey_tokens_per_second": joey_rate,
                "ours_tokens_per_second": ours_rate,
                "ours_over_joey": round(ours_rate / joey_rate, 2),
                "limit_tokens_per_second": round(limit),
                "gflop_per_update": round(flops / 1e9, 2),
                "matmul_gflop_per_second": round(rate / 1e9, 1),
                "joey_fraction_of_limit": round(joey_rate / limit, 2),
                "ours_fraction_of_limit": round(ours_rate / limit, 2),
                "joey": joey,
                "ours": ours,
            }
            if threads == 1:  # the target against the fastest ours could be if only the unavoidable work took time
                profile = _children(["--profile-ours", config, "60"], 1)[0]
                unavoidable = profile["matmul_kernels_ms"] + profile["log_softmax_ms"] + profile["adam_ms"]
                share = unavoidable / profile["ms_per_update"]
                report["runs"][f"{config}-{threads}t"]["target"] = {
                    "tokens_per_second_at_2.5x_joey": round(2.5 * joey_rate),
                    "unavoidable_share_of_ours_update": round(share, 3),
                    "ours_if_all_else_took_no_time": round(ours_rate / share),
                    "profile": profile,
                }
            print(json.dumps({k: v for k, v in report["runs"][f"{config}-{threads}t"].items() if k not in
                              ("joey", "ours")}), file=sys.stderr)  # fmt: skip
    report["machine"]["load_after"] = os.getloadavg()
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
