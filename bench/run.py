"""Print every core benchmark figure as JSON (the same as `python -m seq2seq_viz bench --json`)."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch

from seq2seq_viz.bench import run_all

if __name__ == "__main__":
    torch.set_num_threads(1)
    print(json.dumps(run_all(repeats=int(sys.argv[1]) if len(sys.argv) > 1 else 20), indent=1))
