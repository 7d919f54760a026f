"""Hostile checkpoints: a corpus built from one tiny model, each refused with its sentence, and what refusing costs.

    python bench/hostile.py                   # the corpus: refused / total, sentences, peak memory per case
    python bench/hostile.py --largest         # also the worst case at the ceiling: the largest legal model's
                                              # weights with a NaN in the last tensor read (writes ~260 MB to /tmp)

Every case is one file pair (<name>.json card + <name>.safetensors weights) that an outsider could hand the lab:
cards that describe absurd models or break the card's types, weights that are NaN, huge, of a dtype the format
does not allow, truncated, padded, re-labelled, or a pickle. Each carries the sentence (a regular expression) it
must be refused with, and the memory refusing it may cost. tests/test_hostile.py builds the same corpus and checks
every case; this script prints the figures for the README.

Peak memory is measured in a fresh process that has imported torch and the package: before each case the kernel's
high-water mark is reset (/proc/self/clear_refs ← 5), and the case's cost is VmHWM after it minus VmRSS before.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import struct
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the package from this checkout

MB = 1 << 20
SMALL_BUDGET = 32 * MB  # what refusing a tiny model's damaged checkpoint may cost (the card or one tensor)


@dataclass(frozen=True)
class Case:
    name: str  # also the checkpoint's stem
    kind: str  # the class of damage, for the README's count
    sentence: str  # a regular expression the CheckpointError's message must match
    budget: int  # bytes of peak memory refusing it may cost


def _tiny_model(dtype_seed: int = 0):
    import torch

    from seq2seq_viz.config import ModelConfig
    from seq2seq_viz.model import Seq2Seq
    from seq2seq_viz.vocab import Vocab

    letters = Vocab.build([list("abcdefghij")])
    torch.manual_seed(dtype_seed)
    config = ModelConfig(task="reverse", level="char", hidden_size=8, embedding_size=6, max_output_len=10)
    return Seq2Seq(config, letters, letters).eval()


# ---- the safetensors layout, read and written by hand (a hostile file need not be one safetensors would write) ----


def read_safetensors(path: Path) -> tuple[dict, bytes]:
    data = path.read_bytes()
    (size,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8 : 8 + size]), data[8 + size :]


def write_safetensors(path: Path, header: dict, body: bytes, pad_to: int | None = None) -> None:
    raw = json.dumps(header).encode()
    with open(path, "wb") as handle:
        handle.write(struct.pack("<Q", len(raw)) + raw + body)
        if pad_to is not None:
            handle.truncate(pad_to)  # a sparse tail: a huge file that costs no disk


def _sha256(path: Path) -> str:
    from seq2seq_viz.checkpoint import sha256_of

    return sha256_of(path)


class Corpus:
    """Builds the cases in one directory from a float32 and a float16 save of the same tiny model."""

    def __init__(self, directory: Path):
        from seq2seq_viz.checkpoint import save_checkpoint

        self.dir = directory
        self.model = _tiny_model()
        save_checkpoint(self.model, directory / "base", dtype="float32")
        save_checkpoint(self.model, directory / "base16", dtype="float16")
        self.cases: list[Case] = []

    def base(self, half: bool = False) -> tuple[dict, dict, bytes]:
        stem = "base16" if half else "base"
        card = json.loads((self.dir / f"{stem}.json").read_text())
        header, body = read_safetensors(self.dir / f"{stem}.safetensors")
        return card, header, body

    def add(
        self,
        name: str,
        kind: str,
        sentence: str,
        card: dict | str | bytes,
        header: dict | None = None,
        body: bytes | None = None,
        raw_weights: bytes | None = None,
        pad_to: int | None = None,
        reseal: bool = True,
        budget: int = SMALL_BUDGET,
    ) -> None:
        """Write one case; `reseal` gives the card the weights' true sha256, as a forger would."""
        weights = self.dir / f"{name}.safetensors"
        if raw_weights is not None:
            weights.write_bytes(raw_weights)
        elif header is not None:
            write_safetensors(weights, header, body or b"", pad_to)
        if isinstance(card, dict):
            if reseal and weights.exists() and pad_to is None:
                card = {**card, "sha256": _sha256(weights)}
            card = json.dumps(card)
        path = self.dir / f"{name}.json"
        path.write_bytes(card if isinstance(card, bytes) else card.encode("utf-8", "surrogatepass"))
        self.cases.append(Case(name, kind, sentence, budget))

    def card_case(self, name: str, sentence: str, change: Callable[[dict], None], **kwargs) -> None:
        card, header, body = self.base()
        change(card)
        self.add(name, "card", sentence, card, header, body, **kwargs)


def _set(path: str, value) -> Callable[[dict], None]:
    def change(card: dict) -> None:
        *parents, last = path.split(".")
        target = card
        for key in parents:
            target = target[key]
        target[last] = value

    return change


def _with_value(header: dict, body: bytes, name: str, value: float, fmt: str) -> bytes:
    """body with the first value of tensor `name` overwritten (fmt: struct's f for float32, e for float16)."""
    start, _ = header[name]["data_offsets"]
    packed = struct.pack("<" + fmt, value)
    return body[:start] + packed + body[start + len(packed) :]


def _retyped(header: dict, body: bytes, name: str, dtype: str, itemsize: int) -> tuple[dict, bytes]:
    """One tensor re-labelled as another dtype, its bytes resized to fit, every later offset moved."""
    entries = {k: dict(v) for k, v in header.items() if k != "__metadata__"}
    chunks, position = [], 0
    for key, info in sorted(entries.items(), key=lambda item: item[1]["data_offsets"][0]):
        start, end = info["data_offsets"]
        data = body[start:end]
        if key == name:
            info["dtype"] = dtype
            data = bytes(math.prod(info["shape"]) * itemsize)  # zeros: a valid value of every dtype
        info["data_offsets"] = [position, position + len(data)]
        position += len(data)
        chunks.append(data)
    return {"__metadata__": header.get("__metadata__", {}), **entries}, b"".join(chunks)


def build(directory: Path) -> list[Case]:
    """Every class of damage the issue's probes found, and the neighbours a forger would try next."""
    corpus = Corpus(directory)
    add, card_case = corpus.add, corpus.card_case

    # -- cards that describe a model the lab should never build (refused before anything is allocated)
    for field, value, most in (
        ("hidden_size", 8192, "2,048"),
        ("hidden_size", 65536, "2,048"),
        ("embedding_size", 65536, "2,048"),
        ("layers", 65536, "8"),
        ("max_source_len", 65536, "1,024"),
        ("max_output_len", 65536, "1,024"),
    ):
        card_case(
            f"card-{field}-{value}",
            f"asks for {field} {value:,}; the lab loads models with {field} at most {most}",
            _set(f"config.{field}", value),
        )
    card_case(
        "card-parameters",
        r"describes a model of [\d,]+ parameters; the lab loads models of at most 64,000,000",
        lambda c: c["config"].update(layers=8, hidden_size=2048, embedding_size=2048),
    )
    for field, value, kinds in (
        ("max_output_len", 10.5, "a whole number"),
        ("embedding_size", 32.5, "a whole number"),
        ("hidden_size", True, "a whole number"),
        ("cell", 3, "text"),
        ("dropout", "high", "a number"),
    ):
        card_case(
            f"card-type-{field}", f"gives {field} as {value!r}; it must be {kinds}", _set(f"config.{field}", value)
        )
    card_case("card-cell", "cell must be one of rnn, gru, lstm", _set("config.cell", "transformer"))
    card_case("card-dtype-list", r"stores its weights as \[\], which this version cannot read", _set("dtype", []))
    card_case("card-dtype-float64", "stores its weights as 'float64'", _set("dtype", "float64"))
    card_case("card-no-config", "its card lacks config", lambda c: c.pop("config"))
    card_case("card-format", "is of format 'seq2seq_viz.checkpoint/9'", _set("format", "seq2seq_viz.checkpoint/9"))
    card_case("card-sha256", "sha256 is not 64 hexadecimal digits", _set("sha256", "0" * 63 + "g"), reseal=False)
    card_case("card-metrics", "its card's metrics is not a JSON object", _set("metrics", [1, 2]))
    card_case("card-vocab-type", "source vocabulary is not a list of tokens", _set("source_vocab", ["a", 7]))
    card_case(
        "card-vocab-150k",
        "source vocabulary has 150,000 tokens; the lab loads at most 100,000",
        _set("source_vocab", [f"w{i}" for i in range(150_000)]),
    )
    card_case(
        "card-string-20k",
        "holds a string of 20,000 characters; the lab reads at most 10,000",
        _set("provenance", {"note": "x" * 20_000}),
    )
    card_case("card-depth-40", r"nested too deeply \(at most 32 levels\)", _set("provenance", _nested(40)))
    card, header, body = corpus.base()
    text = json.dumps(card)
    add("card-nested-100k", "card", r"nested too deeply", text[:-1] + ', "x": ' + "[" * 100_000 + "]" * 100_000 + "}")
    add("card-nan", "card", r"holds nan \(not a finite number\)", text.replace('"dropout": 0.0', '"dropout": NaN'))
    add(
        "card-50mb",
        "card",
        r"its card has 50\.0 MB; the lab reads at most 8\.0 MB",
        text[:-1] + ', "note": "' + "x" * (50 * MB) + '"}',
    )
    add("card-not-json", "card", r"damaged \(not valid JSON\)", b"\xff\xfe{not json", header, body)
    add("card-not-a-card", "card", "is not a model card", "[1, 2, 3]", header, body)
    add("card-surrogate", "card", r"damaged \(not valid JSON\)", text.replace('"reverse"', '"rev\ud800erse"'))

    # -- weights that are not numbers a model can hold (the sha256 resealed: a forger's file, not a torn one)
    first = sorted(k for k in header if k != "__metadata__")[0]
    for label, value in (("nan", math.nan), ("inf", math.inf), ("neg-inf", -math.inf), ("huge", 60000.0)):
        add(
            f"weights-{label}",
            "weights",
            "holds NaN or infinite values" if label != "huge" else r"holds 60000, beyond the ±10000",
            card,
            header,
            _with_value(header, body, first, value, "f"),
        )
    card16, header16, body16 = corpus.base(half=True)
    add(
        "weights-f16-neg-60000",
        "weights",
        r"holds -60000, beyond the ±10000",
        card16,
        header16,
        _with_value(header16, body16, first, -60000.0, "e"),
    )
    # -- tensors of a dtype the format does not allow here
    for dtype, size, name in (("I64", 8, "int64"), ("BOOL", 1, "bool"), ("U8", 1, "uint8"), ("F64", 8, "float64")):
        retyped_header, retyped_body = _retyped(header, body, first, dtype, size)
        add(
            f"weights-{name}",
            "weights",
            f"is stored as {name}; a float32 checkpoint stores it as float32",
            card,
            retyped_header,
            retyped_body,
        )
    retyped_header, retyped_body = _retyped(header, body, first, "I8", 1)
    add(
        "weights-int8-no-scales",
        "weights",
        "int8 weights and their row scales do not match",
        card,
        retyped_header,
        retyped_body,
    )
    # -- the header against the config and the file
    gigabyte = {"dtype": "F16", "shape": [512 * MB], "data_offsets": [len(body), len(body) + 1024 * MB]}
    extra = {**header, "zz.extra": gigabyte}  # a float16 tensor of 1 GB beside the model's: a sparse file here
    add(
        "weights-extra-1gb",
        "weights",
        r"unexpected \['zz\.extra'\]",
        card,
        extra,
        body,
        pad_to=8 + len(json.dumps(extra).encode()) + len(body) + 1024 * MB,
    )
    missing = {k: v for k, v in header.items() if k != first}
    add("weights-missing", "weights", "do not fit its config \\(missing", card, missing, body)
    wrong = {**header, first: {**header[first], "shape": [*header[first]["shape"][::-1], 1]}}
    add("weights-shape", "weights", "not a valid safetensors file|do not fit its config", card, wrong, body)
    add("weights-truncated", "weights", "truncated", card, header, body[: len(body) // 2])
    add("weights-padded", "weights", "longer than its header says", card, header, body + bytes(64))
    overlap = {k: dict(v) for k, v in header.items()}
    second = sorted(k for k in header if k != "__metadata__")[1]
    overlap[second]["data_offsets"] = overlap[first]["data_offsets"]
    add("weights-overlap", "weights", "not a valid safetensors file|do not fit its config", card, overlap, body)
    raw = json.dumps(header).encode()
    add(
        "weights-header-size",
        "weights",
        "header is implausibly large",
        card,
        raw_weights=struct.pack("<Q", 1 << 40) + raw + body,
    )
    add(
        "weights-header-json",
        "weights",
        "not a valid safetensors file",
        card,
        raw_weights=struct.pack("<Q", len(raw)) + b"{" + raw[1:-1] + b"," + b"}" + body[:-1],
    )
    duplicate = raw[:-1] + b", " + raw[1:-1].split(b"}, ", 1)[0] + b"}}"
    add(
        "weights-duplicate-key",
        "weights",
        "not a valid safetensors file",
        card,
        raw_weights=struct.pack("<Q", len(duplicate)) + duplicate + body,
    )
    add("weights-empty", "weights", "truncated", card, raw_weights=b"")
    add("weights-pickle", "weights", "is a pickle, which is never loaded", card, raw_weights=_pickle_bytes())
    tampered = bytearray((directory / "base.safetensors").read_bytes())
    tampered[-1] ^= 0xFF
    add(
        "weights-tampered",
        "weights",
        "does not match its recorded sha256",
        card,
        raw_weights=bytes(tampered),
        reseal=False,
    )
    return corpus.cases


def _nested(depth: int):
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


def _pickle_bytes() -> bytes:
    import io

    import torch

    buffer = io.BytesIO()
    torch.save({"w": torch.zeros(3)}, buffer)
    return buffer.getvalue()


# ---- the measurement, in a fresh process ----


def _kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"/proc/self/status has no {field}")


def refuse_all(directory: Path, names: list[str]) -> dict[str, dict]:
    """In this process: load each case, noting how it ended and the peak memory above the baseline."""
    import gc

    import torch

    from seq2seq_viz.checkpoint import load_checkpoint
    from seq2seq_viz.errors import CheckpointError

    torch.set_num_threads(1)
    if (directory / "base.json").exists():  # torch's one-time costs (lazy imports, first allocations) paid here
        load_checkpoint(directory / "base")
    results = {}
    for name in names:
        gc.collect()
        Path("/proc/self/clear_refs").write_text("5")  # the high-water mark starts again from now
        before = _kb("VmRSS")
        try:
            load_checkpoint(directory / name)
            outcome, message = "loaded", ""
        except CheckpointError as error:
            outcome, message = "refused", str(error)
        except BaseException as error:  # what the test must never see
            outcome, message = f"crashed: {type(error).__name__}", str(error)[:300]
        results[name] = {"outcome": outcome, "message": message, "peak_bytes": max(0, _kb("VmHWM") - before)}
    return results


def measure(directory: Path, names: list[str]) -> dict[str, dict]:
    """refuse_all in a fresh interpreter (so one case's memory is not another's), its report as JSON."""
    out = subprocess.run(
        [sys.executable, __file__, "--refuse", str(directory), *names],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        check=True,
    )
    return json.loads(out.stdout)


def largest_legal_case(directory: Path) -> Case:
    """The worst a damaged file can cost: a model at the parameter ceiling whose last tensor read holds a NaN, so
    every other tensor is read first. Written by hand, one tensor at a time, never built in memory."""
    import torch

    from seq2seq_viz.checkpoint import PARAMETERS_MAX, card_layout
    from seq2seq_viz.vocab import Vocab

    corpus = Corpus(directory)
    card, _, _ = corpus.base()
    words = [f"w{i}" for i in range(38_000)]
    card.update(source_vocab=Vocab.build([words]).to_json(), target_vocab=Vocab.build([words]).to_json())
    card["config"].update(level="word", hidden_size=512, embedding_size=512, max_output_len=64)
    layout = card_layout(card, "largest")
    assert layout.parameters <= PARAMETERS_MAX, layout.parameters
    header, position = {}, 0
    ordered = sorted(layout.stored.items())
    for key, (dtype, shape) in ordered:
        size = math.prod(shape) * 4
        header[key] = {"dtype": dtype, "shape": list(shape), "data_offsets": [position, position + size]}
        position += size
    raw = json.dumps(header).encode()
    weights = directory / "largest.safetensors"
    generator = torch.Generator().manual_seed(0)
    with open(weights, "wb") as handle:
        handle.write(struct.pack("<Q", len(raw)) + raw)
        for index, (_, (_, shape)) in enumerate(ordered):
            value = torch.randn(shape, generator=generator) * 0.1
            if index == len(ordered) - 1:
                value.view(-1)[-1] = math.nan
            handle.write(value.numpy().tobytes())
    card["parameters"], card["sha256"] = layout.parameters, _sha256(weights)
    (directory / "largest.json").write_text(json.dumps(card))
    return Case("largest", "weights", "holds NaN or infinite values", 2 * 4 * PARAMETERS_MAX)


def report(cases: list[Case], results: dict[str, dict]) -> dict:
    import re

    rows = []
    for case in cases:
        result = results[case.name]
        good = result["outcome"] == "refused" and re.search(case.sentence, result["message"]) is not None
        rows.append(
            {
                **result,
                "case": case.name,
                "kind": case.kind,
                "as_expected": good,
                "within_budget": result["peak_bytes"] <= case.budget,
            }
        )
    return {
        "refused_as_expected": f"{sum(r['as_expected'] for r in rows)}/{len(rows)}",
        "within_memory_budget": f"{sum(r['within_budget'] for r in rows)}/{len(rows)}",
        "crashed": [r["case"] for r in rows if r["outcome"].startswith("crashed")],
        "loaded": [r["case"] for r in rows if r["outcome"] == "loaded"],
        "worst_peak_mb": round(max(r["peak_bytes"] for r in rows) / MB, 1),
        "worst_peak_case": max(rows, key=lambda r: r["peak_bytes"])["case"],
        "cases": rows,
    }


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--refuse":
        print(json.dumps(refuse_all(Path(sys.argv[2]), sys.argv[3:])))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--largest", action="store_true", help="also the largest legal model with a NaN (~260 MB)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hostile-") as tmp:
        directory = Path(tmp)
        cases = build(directory)
        out = report(cases, measure(directory, [c.name for c in cases]))
        if args.largest:
            largest = directory / "largest"
            largest.mkdir()
            case = largest_legal_case(largest)
            row = report([case], measure(largest, [case.name]))["cases"][0]
            from seq2seq_viz.checkpoint import MODEL_BYTES_MAX

            out["largest_legal_model"] = {
                **row,
                "model_mb": round(MODEL_BYTES_MAX / MB),
                "peak_over_model": round(row["peak_bytes"] / MODEL_BYTES_MAX, 2),
            }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
