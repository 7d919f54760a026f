"""The one-way flow of DESIGN.md: core never imports streamlit; UI code never imports torch."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_core_never_imports_streamlit():
    files = list((ROOT / "seq2seq_viz").rglob("*.py"))
    assert len(files) > 10
    offenders = [str(f) for f in files if "streamlit" in imported_modules(f)]
    assert offenders == []


def test_ui_never_imports_torch():
    files = [*list((ROOT / "ui").rglob("*.py")), ROOT / "app.py"]
    offenders = [str(f) for f in files if f.exists() and "torch" in imported_modules(f)]
    assert offenders == []


def test_the_package_exports_every_public_name_lazily_and_serve_runs_without_torch():
    import subprocess
    import sys

    probe = (
        "import sys, seq2seq_viz\n"
        "assert 'torch' not in sys.modules\n"
        "assert sorted(seq2seq_viz.__all__) == sorted([*seq2seq_viz._EXPORTS, 'set_threads'])\n"
        "from seq2seq_viz import Trace, ModelConfig, InputError, SCHEMA\n"
        "print('torch' in sys.modules, SCHEMA, Trace.__module__, ModelConfig.__module__, InputError.__module__)\n"
        "import contextlib, io\n"
        "from seq2seq_viz.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()): main(['serve', '--print-config'])\n"
        "print('serve', 'torch' in sys.modules)\n"
        "from seq2seq_viz import greedy\n"
        "print('torch' in sys.modules, greedy.__module__)"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "False seq2seq_viz.trace/1 seq2seq_viz.trace seq2seq_viz.config seq2seq_viz.errors",
        "serve False",  # `python -m seq2seq_viz serve` (the proxy and its supervisor) never loads torch
        "True seq2seq_viz.decoding",
    ]
