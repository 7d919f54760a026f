"""The command line: list-models, translate, train, evaluate, build-zoo, bench, serve. Errors: one sentence, exit 1."""

from __future__ import annotations

import argparse
import html
import json
import os
import sys
from pathlib import Path

from .agreement import METHODS
from .errors import ConfigError, InputError, Seq2SeqVizError

MODES = {
    "greedy": "greedy",
    "beam": "beam",
    "sample": "sample",
    "teacher-forced": "teacher_forced",
    "forced-prefix": "forced_prefix",
}


def _number(text: str) -> int | float | str:
    """A decoding option's flag as typed: a whole number, else a number, else the text itself.

    argparse does not judge these values: the gate in options.py does, for the CLI as for the API and the app, so
    `--top-k -1`, `--beam-size 2.5` or `--seed 18446744073709551616` get its one sentence and exit 1.
    """
    try:
        return int(text)
    except ValueError:  # "2.5", "nan", "1e9", "abc", or more digits than int() reads
        try:
            return float(text)
        except ValueError:
            return text


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="seq2seq-viz", description="Instrumented RNN seq2seq with attention.")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("list-models", help="the shipped pretrained models")
    p.add_argument("--json", action="store_true")
    p.add_argument("--markdown", action="store_true", help="a table of every model and its test metrics")
    p.add_argument("--lessons", action="store_true", help="a table of the eng-fra models' lesson-sentence outputs")
    p.add_argument("--grid", action="store_true", help="eng-fra BLEU (all / 7+ words) by cell and attention")
    p.add_argument("--lengths", action="store_true", help="eng-fra BLEU by source length, test and its joins")
    p.add_argument("--attribution", action="store_true", help="attention-attribution agreement of every model")

    p = sub.add_parser("translate", help="decode a sentence and show the attention")
    p.add_argument("--model", required=True, help="a model name (see list-models) or a checkpoint path")
    p.add_argument("--mode", choices=list(MODES), default="greedy")
    p.add_argument("--beam-size", type=_number, default=5, help="beam mode: hypotheses kept (default 5)")
    p.add_argument("--length-penalty", type=_number, default=1.0, help="beam mode: α of log p / |y|^α (default 1)")
    p.add_argument("--temperature", type=_number, default=1.0, help="sample mode (default 1)")
    p.add_argument("--top-k", type=_number, default=None, help="sample mode: draw from the k likeliest only")
    p.add_argument("--seed", type=_number, default=0, help="sample mode (default 0)")
    p.add_argument("--max-len", type=_number, default=None, help="at most this many output steps")
    p.add_argument("--reference", help="a gold translation (required for teacher-forced)")
    p.add_argument("--prefix", help="the forced first output tokens (forced-prefix mode)")
    p.add_argument("--input-file", type=Path, help="translate every line of this file, one output per line")
    p.add_argument(
        "--attribution",
        action="append",
        choices=METHODS,
        help="also attribute each output token to the source tokens (repeatable; in --json under 'attribution')",
    )
    p.add_argument("--json", action="store_true", help="print the whole Trace as JSON")
    p.add_argument("text", nargs="?", help="the sentence to translate")

    p = sub.add_parser("train", help="train a model on a task and write a checkpoint")
    p.add_argument("--task", default="reverse", help="eng-fra, dates, reverse, sort, copy, or pairs (your --data)")
    p.add_argument("--config", type=Path, help="a JSON file with {model: {...}, train: {...}} overrides")
    p.add_argument("--cell", choices=["rnn", "gru", "lstm"])
    p.add_argument("--attention", choices=["none", "dot", "general", "concat", "additive"])
    p.add_argument("--epochs", type=int)
    p.add_argument("--max-steps", type=int)
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument(
        "--data",
        help="pairs: your source<TAB>target file (models are named after it: my.tsv -> my-gru-general); "
        "eng-fra: its TSV file (default ../shared/data/eng-fra.tsv)",
    )
    p.add_argument("--level", choices=["word", "char"], help="pairs: word or character tokens (default word)")
    p.add_argument("--lowercase", action="store_true", help="pairs: lowercase the text before tokenizing")
    p.add_argument("--seed", type=int, help="pairs: the seed of the train/valid/test split and of training")
    p.add_argument("--out", type=Path, help="checkpoint path (default: checkpoints/<name>)")

    p = sub.add_parser("evaluate", help="metrics on the model's task test split")
    p.add_argument("--model", required=True)
    p.add_argument("--split", default="all", help="test, test_long (toy tasks) or all")
    p.add_argument("--limit", type=int, help="only the first N examples")
    p.add_argument("--data", help="path of the eng-fra TSV file")
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--attribution",
        action="store_true",
        help="instead: how well attention agrees with each attribution method (first 100 test examples, or --limit)",
    )

    p = sub.add_parser("build-zoo", help="train every missing pretrained model (resumable)")
    p.add_argument("--task", action="append", help="only these tasks (repeatable)")
    p.add_argument("--model", action="append", help="only these model names (repeatable)")
    p.add_argument("--device", default="auto")
    p.add_argument("--force", action="store_true", help="retrain even if the checkpoint is current")
    p.add_argument("--reevaluate", action="store_true", help="recompute the metrics of current checkpoints")
    p.add_argument("--attribution", action="store_true", help="add attention-attribution agreement to their cards")
    p.add_argument("--reindex", action="store_true", help="only rewrite MANIFEST.json from the cards on disk")
    p.add_argument("--adopt", type=Path, help="add this checkpoint (trained elsewhere with the zoo's settings)")
    p.add_argument("--out", type=Path, help="directory (default: pretrained/)")
    p.add_argument("--jobs", type=int, default=1, help="models trained at once, one process and core each")
    p.add_argument("--force-before", type=float, help=argparse.SUPPRESS)  # set by --jobs for its forced workers

    p = sub.add_parser("bench", help="tracing overhead, beam cost, training speed: ratios measured in one run")
    p.add_argument("--json", action="store_true")
    p.add_argument("--repeats", type=int, default=20)

    p = sub.add_parser("serve", help="N Streamlit workers behind nginx on one port (sticky sessions, restarts)")
    p.add_argument("--workers", type=int, default=2, help="local Streamlit workers, one core each (default 2)")
    p.add_argument("--port", type=int, default=8501, help="the public port nginx listens on (default 8501)")
    p.add_argument("--address", default="127.0.0.1", help="nginx's listen address (0.0.0.0: the whole network)")
    p.add_argument(
        "--worker-address", default="127.0.0.1", help="the workers' address (0.0.0.0: other machines' nginx)"
    )
    p.add_argument("--worker-port", type=int, help="the first worker's port, the next ones follow (default port+1)")
    p.add_argument(
        "--upstream", action="append", default=[], metavar="HOST:PORT", help="another machine's worker (repeatable)"
    )
    p.add_argument("--no-proxy", action="store_true", help="start only the workers (a machine that hosts workers)")
    p.add_argument("--print-config", action="store_true", help="print the generated nginx config and exit")
    return parser


def matrix_table(trace, matrix, least_width: int = 6) -> str:
    """A (T, S) matrix as aligned text: one row per output token, one column per source token."""
    src = [repr(t)[1:-1] if t.strip() else "␣" for t in trace.source_tokens]
    width = max(least_width, *(len(t) for t in src))
    label = max(len(t) for t in trace.output_tokens)
    lines = [" " * label + " " + " ".join(t.rjust(width) for t in src)]
    for token, row in zip(trace.output_tokens, matrix, strict=True):
        lines.append(token.ljust(label) + " " + " ".join(f"{w:.2f}".rjust(width) for w in row))
    return "\n".join(lines)


def attention_table(trace) -> str:
    """The attention matrix as aligned text: one row per output token, one column per source token."""
    if trace.attention is None:
        return "(attention none: one fixed context vector, no alignment)"
    return matrix_table(trace, trace.attention, least_width=5)


def _fmt(value, scale: float = 1.0, digits: int = 1) -> str:
    return "–" if value is None else f"{value * scale:.{digits}f}"


def markdown_table(models: dict) -> str:
    """Every shipped model with its measured test metrics (the README's table is this output)."""
    columns = [
        "model",
        "params",
        "epochs",
        "train s",
        "BLEU",
        "exact match %",
        "char acc %",
        "AER",
        "long: exact %",
        "BLEU 7+ words",
    ]
    rows = ["| " + " | ".join(columns) + " |", "|---|" + "--:|" * (len(columns) - 1)]
    for name, entry in models.items():
        test = entry.get("metrics", {}).get("test", {})
        long = entry.get("metrics", {}).get("test_long", {})
        training = entry.get("training", {})
        rows.append(
            f"| {name} | {entry.get('parameters', 0):,} | {training.get('epochs', '–')} | "
            f"{_fmt(training.get('seconds'), digits=0)} | {_fmt(test.get('bleu'))} | "
            f"{_fmt(test.get('exact_match'), 100)} | {_fmt(test.get('char_accuracy'), 100)} | "
            f"{_fmt(test.get('aer'), digits=3)} | {_fmt(long.get('exact_match'), 100)} | "
            f"{_fmt(test.get('bleu_long'))} |"
        )
    return "\n".join(rows)


def bleu_grid(models: dict) -> str:
    """eng-fra test BLEU by cell (rows) and attention (columns), as "all sources / 7+ word sources"."""
    from .config import ATTENTIONS, CELLS

    rows = ["| cell | " + " | ".join(ATTENTIONS) + " |", "|---" + "|--:" * len(ATTENTIONS) + "|"]
    for cell in CELLS:
        scores = []
        for attention in ATTENTIONS:
            test = models.get(f"eng-fra-{cell}-{attention}", {}).get("metrics", {}).get("test", {})
            scores.append(f"{_fmt(test.get('bleu'))} / {_fmt(test.get('bleu_long'))}" if test else "–")
        rows.append(f"| {cell} | " + " | ".join(scores) + " |")
    return "\n".join(rows)


def length_table(models: dict) -> str:
    """eng-fra BLEU by source length in words: the test split (1-9 words), then joins of its sentences (10-27); the
    longest training source each card records ("–": a card from before the builder recorded it, trained on the
    original pairs of at most 9 words); test and joined BLEU and the fall between them. Then the length targets
    (length_targets)."""
    from .metrics import LENGTH_BUCKETS, LONG_LENGTH_BUCKETS, bucket_label

    labels = [bucket_label(b) for b in (*LENGTH_BUCKETS[:-1], *LONG_LENGTH_BUCKETS[:-1])]
    columns = ["model", "trained ≤", *labels, "test", "joins", "fall"]
    rows = ["| " + " | ".join(columns) + " |", "|---" + "|--:" * (len(columns) - 1) + "|"]
    eng_fra = {name: entry for name, entry in models.items() if entry.get("config", {}).get("task") == "eng-fra"}
    for name, entry in eng_fra.items():
        metrics = entry.get("metrics", {})
        series = {**(metrics.get("test") or {}).get("bleu_by_length", {}),
                  **(metrics.get("test_joined") or {}).get("bleu_by_length", {})}  # fmt: skip
        test, joins = _short_and_joined(entry)
        cells = [
            _fmt((entry.get("task") or {}).get("longest_source"), digits=0),
            *(_fmt(series.get(label)) for label in labels),
            _fmt(test),
            _fmt(joins),
            _fmt(None if test is None or joins is None else joins - test),
        ]
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join([*rows, "", *length_targets(eng_fra)])


def _short_and_joined(entry: dict) -> tuple[float | None, float | None]:
    """(test BLEU, BLEU on the 10-27-word joins of test sentences) of a card."""
    metrics = entry.get("metrics", {})
    return (metrics.get("test") or {}).get("bleu"), (metrics.get("test_joined") or {}).get("bleu")


def _met(held: bool) -> str:
    return "met" if held else "not met"


def length_targets(eng_fra: dict) -> list[str]:
    """Issue 14's targets, as the cards measure them: the best test BLEU (≥ 45); the best attention model on the
    joins within 8 BLEU of its test score; the fixed-context models falling further."""
    scored = {name: _short_and_joined(entry) for name, entry in eng_fra.items()}
    scored = {name: (test, joins) for name, (test, joins) in scored.items() if test is not None and joins is not None}
    if not scored:
        return ["No eng-fra model with test and joined scores is installed."]
    on_joins = [n for n, e in eng_fra.items() if ((e.get("task") or {}).get("longest_source") or 0) > 9]
    best = max(scored, key=lambda n: scored[n][0])
    attention = [n for n in scored if eng_fra[n]["config"]["attention"] != "none"]
    fixed = sorted(n for n in scored if eng_fra[n]["config"]["attention"] == "none")

    def fall(name: str) -> str:
        test, joins = scored[name]
        return f"`{name}` {test:.1f} → {joins:.1f} ({joins - test:+.1f})"

    lines = [
        f"- Trained on joined pairs (sources up to 27 words): {len(on_joins)} of {len(eng_fra)} models"
        + (f" ({', '.join(f'`{n}`' for n in sorted(on_joins))})" if on_joins and len(on_joins) < len(eng_fra) else "")
        + ".",
        f"- Best test BLEU: `{best}` {scored[best][0]:.1f} (target ≥ 45: {_met(scored[best][0] >= 45)}).",
    ]
    if attention:
        leader = max(attention, key=lambda n: scored[n][1])
        held = scored[leader][1] >= scored[leader][0] - 8
        lines.append(
            f"- Best attention model on the 10–27-word joins: {fall(leader)} (target within 8 BLEU of its test score: "
            f"{_met(held)})."
        )
    if fixed:
        lines.append(f"- Fixed context, test → joins: {'; '.join(fall(n) for n in fixed)}.")
    minutes = [
        eng_fra[n]["training"]["seconds"] / 60 for n in sorted(on_joins) if "seconds" in eng_fra[n].get("training", {})
    ]
    if minutes:
        mean = sum(minutes) / len(minutes)
        hours = len(eng_fra) * mean / 60  # every model at the mean; once all are retrained, the rebuild time itself
        low, high = min(minutes), max(minutes)
        spread = f"- Training on the joins: {low:.0f}–{high:.0f} min a model on one core (mean {mean:.0f}"
        if len(minutes) == len(eng_fra):
            lines.append(f"{spread}); all {len(eng_fra)} together: {hours:.1f} core-hours, about {hours / 2:.1f} hours "
                         "with `build-zoo --jobs 2`.")  # fmt: skip
        else:
            lines.append(f"{spread}, {len(minutes)} models); all {len(eng_fra)} at that mean: {hours:.1f} core-hours.")
    return lines


def attribution_table(models: dict) -> str:
    """Per model with attribution metrics: Spearman ρ between attention and each method's |a| (mean over test
    examples of the mean over steps), how often the top tokens agree (integrated gradients), and with gold
    alignments the AER of attention's and of each method's top token."""
    columns = ["model", "ρ grad×input", "ρ IG", "ρ occlusion", "same top % (IG)", "AER α", "AER IG", "AER occlusion"]
    rows = ["| " + " | ".join(columns) + " |", "|---|" + "--:|" * (len(columns) - 1)]
    for name, entry in models.items():
        found = entry.get("metrics", {}).get("attribution")
        if not found or (entry["config"]["attention"] == "none" and not found.get("integrated_gradients", {})):
            continue  # nothing to show: a fixed-context model of a task without gold alignments
        ig, occlusion = found.get("integrated_gradients", {}), found.get("occlusion", {})
        cells = [
            _fmt(found.get("grad_x_input", {}).get("mean_spearman"), digits=2),
            _fmt(ig.get("mean_spearman"), digits=2),
            _fmt(occlusion.get("mean_spearman"), digits=2),
            _fmt(ig.get("top_match_rate"), 100),
            _fmt(found.get("attention_aer"), digits=3),
            _fmt(ig.get("aer"), digits=3),
            _fmt(occlusion.get("aer"), digits=3),
        ]
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def markdown_text(text: str) -> str:
    """Model text as a markdown table cell shows it: GitHub would drop `<unk>` as an unknown HTML tag."""
    return html.escape(text, quote=False).replace("|", "\\|")


def lesson_table(models: dict) -> str:
    """What each eng-fra model writes (greedy) for the lesson sentences (the README's table is this output)."""
    from .decoding import greedy
    from .registry import load_model
    from .tasks.engfra import LESSON_SENTENCES

    rows = ["| model | " + " | ".join(LESSON_SENTENCES) + " |", "|---" * (len(LESSON_SENTENCES) + 1) + "|"]
    for name in sorted(n for n, entry in models.items() if entry.get("config", {}).get("task") == "eng-fra"):
        model = load_model(name)
        outputs = [markdown_text(greedy(model, sentence).output_text) for sentence in LESSON_SENTENCES]
        rows.append(f"| {name} | " + " | ".join(outputs) + " |")
    return "\n".join(rows)


def tables() -> dict:
    """list-models' table flags -> the function that prints each (the README's generated blocks are these)."""
    return {"markdown": markdown_table, "lessons": lesson_table, "grid": bleu_grid, "lengths": length_table,
            "attribution": attribution_table}  # fmt: skip


def _translate(args) -> int:
    from .decoding import decode
    from .registry import load_model

    model = load_model(args.model)
    options: dict = {}
    mode = MODES[args.mode]
    if mode == "beam":
        options.update(beam_size=args.beam_size, length_penalty=args.length_penalty)
    if mode == "sample":
        options.update(temperature=args.temperature, top_k=args.top_k, seed=args.seed)
    if mode == "forced_prefix":
        if not args.prefix:
            raise SystemExit("error: forced-prefix mode needs --prefix.")
        options["prefix"] = args.prefix
    if args.reference is not None:
        options["reference"] = args.reference
    if args.max_len is not None:
        options["max_len"] = args.max_len  # teacher forcing takes none: the gate says so
    if args.input_file is not None:
        try:
            lines = args.input_file.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError as exc:
            raise InputError(f"The file {args.input_file} is not UTF-8 text (byte {exc.start:,}).") from None
        for line in lines:
            print(decode(model, line, mode, **options).output_text if line.strip() else "")
        return 0
    if args.text is None:
        raise SystemExit("error: give a sentence to translate, or --input-file.")
    trace = decode(model, args.text, mode, **options)
    if args.attribution:
        from .attribution import attribute

        trace = attribute(model, trace, list(dict.fromkeys(args.attribution)))
    if args.json:
        print(trace.to_json())
        return 0
    print(trace.output_text)
    if trace.unknown_source_tokens:
        unknown = ", ".join(repr(trace.source_tokens[i]) for i in trace.unknown_source_tokens)
        print(f"note: the model never saw {unknown}", file=sys.stderr)
    print()
    print(attention_table(trace))
    for method, value in trace.attribution.items():
        print()
        print(f"{method} (a_tj: how much source token j raised log p(y_t)):")
        print(matrix_table(trace, value.matrix))
    if trace.beam:
        print("\nn-best:")
        for hyp in trace.beam.nbest:
            print(f"  {hyp.score:8.3f}  {hyp.text}")
    return 0


def _train(args) -> int:
    from .checkpoint import save_checkpoint
    from .config import ModelConfig, TrainConfig
    from .evaluate import evaluate_model
    from .tasks import get_task
    from .train import build_vocabs, train
    from .zoo import card_extras

    if args.task == "pairs":
        seed = args.seed or 0
        task = get_task("pairs", args.data, seed, level=args.level or "word", lowercase=args.lowercase)
        if len(task.train) < FEW_PAIRS:
            print(
                f"note: {Path(args.data).name} gives only {len(task.train)} training pairs "
                f"({len(task.valid)} validation, {len(task.test)} test); expect a model that memorizes them "
                "rather than one that generalizes.",
                file=sys.stderr,
            )
    else:
        if args.level or args.lowercase or args.seed is not None:
            raise ConfigError("--level, --lowercase and --seed apply to --task pairs; the other tasks fix their own.")
        task = get_task(args.task, args.data)
    overrides = _overrides(args.config) if args.config else {}
    model_fields = {**task.model_defaults, **overrides.get("model", {}), "task": task.name}
    for key in ("cell", "attention"):
        if getattr(args, key):
            model_fields[key] = getattr(args, key)
    train_fields = {**task.train_defaults, **overrides.get("train", {}), "device": args.device}
    if args.seed is not None:  # pairs: one seed for the split and the training
        train_fields["seed"] = args.seed
    if args.epochs:
        train_fields["epochs"] = args.epochs
    if args.max_steps:
        train_fields["max_steps"] = args.max_steps
    model_config, train_config = ModelConfig.from_dict(model_fields), TrainConfig.from_dict(train_fields)
    if (model_config.level, model_config.lowercase) != (task.level, task.lowercase):
        raise ConfigError(
            f"The task {task.name} reads {task.level} tokens (lowercase {task.lowercase}); the config's model "
            "level and lowercase must agree (for pairs, use --level and --lowercase)."
        )
    bar = _progress_bar(model_config.name)
    result = train(
        model_config,
        train_config,
        task.pairs("train"),
        task.pairs("valid"),
        vocabs=build_vocabs(task.vocab_pairs(), train_config.min_freq, train_config.max_vocab),
        on_step=bar.update,
        on_epoch=lambda r: bar.write(
            f"epoch {r.epoch}: train {r.train_loss:.3f} valid {r.valid_loss:.3f} acc {r.valid_accuracy:.3f}"
        ),
    )
    bar.close()
    metrics = evaluate_model(result.model.cpu(), split="all", task=task)
    out = args.out or Path("checkpoints") / model_config.name
    save_checkpoint(result.model, out, train_config, metrics, task.provenance, card_extras(task, result))
    print(f"wrote {out}.safetensors and {out}.json; test: {json.dumps(metrics['test'])}")
    return 0


FEW_PAIRS = 100  # training pairs below which `train --task pairs` warns that the model can only memorize


def _overrides(path: Path) -> dict:
    """The --config file: {"model": {...}, "train": {...}}, either part optional."""
    overrides = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(overrides, dict) or not all(isinstance(overrides.get(k, {}), dict) for k in ("model", "train")):
        raise ConfigError(f'The config file {path} must hold {{"model": {{...}}, "train": {{...}}}}.')
    return overrides


class _progress_bar:
    """A tqdm bar over optimizer steps (plain lines when tqdm is unavailable)."""

    def __init__(self, label: str) -> None:
        from tqdm import tqdm

        self.bar = tqdm(desc=label, unit="step", dynamic_ncols=True)

    def update(self, progress) -> None:
        self.bar.total = progress.total_steps
        self.bar.n = progress.step
        self.bar.set_postfix(epoch=progress.epoch, loss=f"{progress.loss:.3f}", refresh=False)
        self.bar.refresh()

    def write(self, text: str) -> None:
        self.bar.write(text)

    def close(self) -> None:
        self.bar.close()


def _serve(args) -> int:
    from .serve import ServeConfig, nginx_config, serve

    config = ServeConfig(
        workers=args.workers,
        port=args.port,
        address=args.address,
        worker_address=args.worker_address,
        worker_port=args.worker_port,
        upstreams=tuple(args.upstream),
        proxy=not args.no_proxy,
    )
    if args.print_config:
        if not config.proxy:
            raise ConfigError("--print-config prints nginx's config, and --no-proxy runs no nginx.")
        print(nginx_config(config), end="")
        return 0
    return serve(config)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "serve":  # before torch: the proxy and its supervisor need none of it
            return _serve(args)
        import torch

        if args.threads < 1:
            raise ConfigError(f"--threads must be at least 1, not {args.threads}.")
        torch.set_num_threads(args.threads)
        if args.command == "list-models":
            from .registry import list_models

            models = list_models()
            for flag, table in tables().items():
                if getattr(args, flag):
                    print(table(models))
                    return 0
            if args.json:
                print(json.dumps(models, indent=1))
            elif not models:
                print("No pretrained models are installed.")
            for name, entry in models.items() if not args.json else ():
                test = entry.get("metrics", {}).get("test", {})
                score = ", ".join(f"{k} {test[k]:.3f}" for k in ("bleu", "exact_match", "aer") if k in test)
                print(f"{name:28s} {entry.get('parameters', 0):>9,d} params  {score}")
            return 0
        if args.command == "translate":
            return _translate(args)
        if args.command == "train":
            return _train(args)
        if args.command == "evaluate":
            from .evaluate import ATTRIBUTION_EXAMPLES, attribution_metrics, evaluate_model, task_of
            from .registry import load_model

            model = load_model(args.model)
            if args.attribution:
                task = task_of(model, args.data)
                result = attribution_metrics(model, task, task.test[: args.limit or ATTRIBUTION_EXAMPLES])
            else:
                result = evaluate_model(model, args.split, args.limit, args.data)
            print(json.dumps(result, indent=None if args.json else 1))
            return 0
        if args.command == "build-zoo":
            from .zoo import adopt, build, build_parallel, reindex

            if args.adopt:
                adopt(args.adopt, args.out)
                return 0
            if args.reindex:
                print(f"MANIFEST.json lists {len(reindex(args.out))} models.")
                return 0
            if args.attribution:
                from .zoo import add_attribution

                add_attribution(args.task, args.model, args.out, args.force)
                return 0
            if args.jobs < 1:
                raise ConfigError("--jobs must be at least 1.")
            if args.jobs > 1 and not args.reevaluate:  # re-evaluating is quick, and each worker would redo it all
                return build_parallel(args.jobs, args.task, args.model, args.out, args.device, args.force)
            build(
                args.task,
                args.model,
                args.out,
                args.device,
                args.force,
                args.reevaluate,
                force_before=args.force_before,
            )
            return 0
        if args.command == "bench":
            from .bench import run_all

            figures = run_all(repeats=args.repeats)
            print(json.dumps(figures, indent=None if args.json else 1))
            return 0
    except Seq2SeqVizError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # the reader left (`... | head -1`): nothing is wrong, and nothing more can be said
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the interpreter's final flush is quiet
        return 0
    except (OSError, json.JSONDecodeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 2
