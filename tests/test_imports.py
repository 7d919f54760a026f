"""The one-way flow of DESIGN.md: core never imports streamlit; UI code never imports torch."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

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


UI_MODULES = sorted(  # every ui/*.py, so a new module is covered the day it lands; ui.cache is the model's door
    ("ui" if path.stem == "__init__" else f"ui.{path.stem}") for path in (ROOT / "ui").glob("*.py")
)
UI_MODULES.remove("ui.cache")
TORCH_FREE_CORE = [
    f"seq2seq_viz.{name}" for name in ("agreement", "config", "errors", "limits", "text", "trace", "vocab")
]

# ui.cache loads models, so it imports torch (seq2seq_viz.set_threads); the widget modules that call it
# (components, sidebar) are checked with a stand-in for it: torch may come through that door and no other.
IMPORT_PROBE = """
import sys
from unittest import mock
sys.modules["ui.cache"] = mock.MagicMock(name="ui.cache")
import importlib
importlib.import_module(sys.argv[1])
print("torch" in sys.modules)
"""


@pytest.mark.parametrize("module", [*TORCH_FREE_CORE, *UI_MODULES])
def test_ui_and_the_core_it_reads_import_without_torch(module):
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_PROBE, module], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False", f"importing {module} loads torch"


def test_app_and_views_never_import_torch():
    files = [*(ROOT / "ui" / "views").rglob("*.py"), ROOT / "app.py"]
    assert len(files) > 3
    offenders = [str(f) for f in files if "torch" in imported_modules(f)]
    assert offenders == []


def test_the_package_exports_every_public_name_lazily_and_serve_runs_without_torch():
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
        "False seq2seq_viz.trace/2 seq2seq_viz.trace seq2seq_viz.config seq2seq_viz.errors",
        "serve False",  # `python -m seq2seq_viz serve` (the proxy and its supervisor) never loads torch
        "True seq2seq_viz.decoding",
    ]
