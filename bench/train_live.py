"""Train live, measured: how soon a live training is good, and what it costs the rest of the class.

    python bench/train_live.py                       # seconds to ≥95% exact match, default settings, seeds 0 1 2
    python bench/train_live.py --tasks reverse dates # also other tasks (their first eval at ≥95%, if any)
    python bench/train_live.py --classroom 10        # also: a class of 10 on a real server, without and with a
                                                     # live training running beside it on the same machine

Time to 95%: from LiveTraining.start() (process start, imports and data included) until the parent holds the
first eval event at ≥ 0.95 exact match on the fixed 200 validation strings. The parent polls every 20 ms, so
figures are ±0.02 s beyond the eval cadence (one eval every LiveSettings().eval_every steps).

Classroom: bench/classroom.py's simulated students against one `streamlit run app.py`: a class alone, a class
while a live training (default settings but 3000 steps, stopped when the class ends) trains niced in its own
process, then a class alone again; each class types sentences of its own (classroom's seed), so all three miss the
trace cache alike. Ratios are against the mean of the two classes alone. Figures, not asserts. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # as bench/run.py: the package from this checkout

from seq2seq_viz.live import LiveSettings, LiveTraining  # noqa: E402  (torch-free, as in the server)

TARGET = 0.95
POLL_S = 0.02


def time_to_target(settings: LiveSettings, target: float = TARGET) -> dict:
    """One training from start() to done, noting when the first eval at ≥ target arrived."""
    started = time.perf_counter()
    training = LiveTraining.start(settings)
    first_step_s = reached_s = reached_step = None
    while True:
        state = training.poll()
        now = time.perf_counter() - started
        if first_step_s is None and state.step > 0:
            first_step_s = now
        if reached_s is None:
            hit = next((e for e in state.evals if e.exact_match >= target), None)
            if hit is not None:
                reached_s, reached_step = now, hit.step
        if state.finished:
            break
        time.sleep(POLL_S)
    total_s = time.perf_counter() - started
    if state.status != "done":
        raise SystemExit(f"the training ended {state.status}: {state.error or state.note}")
    training_s = total_s - first_step_s
    return {
        "seed": settings.seed,
        "seconds_to_target": None if reached_s is None else round(reached_s, 2),
        "step_at_target": reached_step,
        "seconds_to_first_step": round(first_step_s, 2),  # process start, torch import, data, first batches
        "seconds_total": round(total_s, 2),
        "steps": state.step,
        "steps_per_second": round(state.step / training_s, 1),
        "tokens_per_second": round(state.tokens_per_second or 0, 0),
        "final_exact_match": state.evals[-1].exact_match,
        "final_token_accuracy": state.evals[-1].token_accuracy,
        "snapshots": len(state.snapshots),
        "evals": len(state.evals),
        "snapshot_json_kb": round(sum(len(json.dumps(s.trace.to_dict())) for s in state.snapshots) / 1024, 1),
        "model_kb": round(len(training.checkpoint_bytes()[0]) / 1024, 1),
    }


def task_figures(task: str, seeds: list[int]) -> dict:
    settings = LiveSettings(task=task)
    runs = [time_to_target(LiveSettings(**{**settings.to_dict(), "seed": seed})) for seed in seeds]
    reached = [r["seconds_to_target"] for r in runs if r["seconds_to_target"] is not None]
    print(json.dumps({task: runs}), file=sys.stderr, flush=True)
    return {
        "settings": settings.to_dict(),
        "median_seconds_to_target": round(statistics.median(reached), 2) if reached else None,
        "median_step_at_target": statistics.median([r["step_at_target"] for r in runs if r["step_at_target"]])
        if reached
        else None,
        "reached": f"{len(reached)}/{len(runs)}",
        "runs": runs,
    }


def classroom_figures(students: int, think: tuple[float, float]) -> dict:
    """The same class alone and beside one live training (the training's own progress reported too)."""
    sys.path.insert(0, str(ROOT / "bench"))
    import classroom

    log = ROOT / "bench" / "results" / "train_live-server.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    process, url = classroom.start_server(0, log)
    pids_of = lambda: classroom.process_tree(process.pid)
    try:
        classroom.warm_up(url)
        before = classroom.measure(url, pids_of, students, think, 10.0, 180.0, seed=1)
        training = LiveTraining.start(LiveSettings(steps=3000))
        while training.poll().step == 0 and not training.poll().finished:  # training, not importing, meanwhile
            time.sleep(0.05)
        first_step = training.poll()
        beside = classroom.measure(url, pids_of, students, think, 10.0, 180.0, seed=2)
        training.stop()
        state = training.wait(60)
        after = classroom.measure(url, pids_of, students, think, 10.0, 180.0, seed=3)
    finally:
        classroom.stop_server(process)

    def brief(report: dict) -> dict:
        return {
            "latency": report["latency"],
            "failures": report["failures"],
            "server_cpu_s_per_interaction": report["server_cpu_s_per_interaction"],
        }

    def ratio(kind: str, figure: str) -> float:
        alone = (before["latency"][kind][figure] + after["latency"][kind][figure]) / 2
        return round(beside["latency"][kind][figure] / alone, 2)

    kinds = [k for k in before["latency"] if k in beside["latency"] and k in after["latency"]]
    ratios = {kind: {"p50": ratio(kind, "p50_s"), "p95": ratio(kind, "p95_s")} for kind in kinds}
    training_s = state.seconds - first_step.seconds
    return {
        "students": students,
        "think_s": list(think),
        "alone_before": brief(before),
        "beside_live_training": brief(beside),
        "alone_after": brief(after),
        "latency_ratio_beside_over_alone": ratios,
        "live_training": {
            "status": state.status,
            "steps_during_class": state.step - first_step.step,
            "steps_per_second_during_class": round((state.step - first_step.step) / training_s, 1),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", nargs="+", default=["reverse"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--classroom", type=int, default=0, help="students in the class (0: skip)")
    parser.add_argument("--think", type=float, nargs=2, default=(2.0, 5.0))
    args = parser.parse_args()
    report: dict = {"target_exact_match": TARGET, "tasks": {t: task_figures(t, args.seeds) for t in args.tasks}}
    if args.classroom:
        report["classroom"] = classroom_figures(args.classroom, tuple(args.think))
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
