"""serve: the generated nginx config, and real classes behind nginx and two workers, one of them killed mid-lesson.

The classes are bench/classroom.py's simulated students (Streamlit's own websocket protocol). Which worker served
a socket is read from the X-S2SV-Worker header nginx adds to every answer, the websocket handshake included, so
every student's list of workers is known exactly, whatever the hash did.
"""

from __future__ import annotations

import ast
import asyncio
import gzip
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

from seq2seq_viz.cli import main
from seq2seq_viz.serve import (
    ROUTE_COOKIE,
    WORKER_HEADER,
    ServeConfig,
    ServeError,
    find_nginx,
    nginx_config,
    prepare_frontend,
    streamlit_frontend,
)

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
sys.path.insert(0, str(ROOT / "bench"))
import classroom  # noqa: E402  (bench/ is scripts, not a package)

STUDENTS = 20
LESSON = 6  # interactions per student: open, type, open step, Next x3
THINK = (0.2, 0.6)


@pytest.fixture(scope="module")
def nginx() -> str:
    try:
        return find_nginx()
    except ServeError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"{exc} CI must run the serve tests.")
        pytest.skip(str(exc))


def upstream_servers(config_text: str) -> tuple[list[str], list[str]]:
    """The `server` lines and every other line of the config's upstream blocks (asserting there is one)."""
    blocks = re.findall(r"^\s*upstream \S+ \{(.*?)\}", config_text, re.MULTILINE | re.DOTALL)
    assert len(blocks) == 1
    body = blocks[0]
    lines = [line.strip().rstrip(";") for line in body.splitlines() if line.strip()]
    servers = [line.split()[1] for line in lines if line.startswith("server ")]
    return servers, [line for line in lines if not line.startswith("server ")]


def test_one_sticky_upstream_holds_local_and_other_machines_workers_and_nginx_accepts_it(nginx, tmp_path):
    config = ServeConfig(workers=2, port=18501, upstreams=("10.0.0.7:8502",))
    text = nginx_config(config, as_root=os.geteuid() == 0)
    servers, others = upstream_servers(text)
    assert servers == ["127.0.0.1:18502", "127.0.0.1:18503", "10.0.0.7:8502"]
    assert others == ["hash $s2sv_route consistent"]
    assert text.count("max_fails=1 fail_timeout=5s") == 3
    assert f'"" $request_id;\n        default $cookie_{ROUTE_COOKIE};' in text  # no cookie yet: a fresh route
    assert f'"" "{ROUTE_COOKIE}=$request_id; Path=/; HttpOnly; SameSite=Lax";' in text
    assert "proxy_set_header Connection $connection_upgrade;" in text and "proxy_read_timeout 1h;" in text
    assert "listen 127.0.0.1:18501;" in text and "location = /healthz" in text
    assert "/etc/nginx" not in text and "/var/" not in text
    (tmp_path / "nginx.conf").write_text(text)
    command = [nginx, "-t", "-p", f"{tmp_path}/", "-c", str(tmp_path / "nginx.conf"), "-e", str(tmp_path / "e.log")]
    checked = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr


def test_workers_bound_to_every_address_are_reached_on_loopback_and_root_keeps_nginx_in_the_run_dir():
    config = ServeConfig(workers=1, worker_address="0.0.0.0", worker_port=9000, upstreams=("[fd00::7]:8502",))
    assert config.servers == ["127.0.0.1:9000", "[fd00::7]:8502"]
    assert nginx_config(config, as_root=True).count("user root;") == 1
    assert "user " not in nginx_config(config, as_root=False)


def test_print_config_prints_what_serve_runs(capsys):
    assert main(["serve", "--workers", "2", "--upstream", "10.0.0.7:8502", "--print-config"]) == 0
    expected = nginx_config(ServeConfig(workers=2, upstreams=("10.0.0.7:8502",)))
    assert capsys.readouterr().out == expected


@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        (["serve", "--workers", "0"], "error: --workers 0 needs at least one --upstream HOST:PORT"),
        (["serve", "--upstream", "nohost"], "error: --upstream takes HOST:PORT"),
        (["serve", "--no-proxy", "--workers", "0"], "error: --no-proxy starts only workers"),
        (["serve", "--workers", "2", "--worker-port", "8500"], "error: port 8501 is both nginx's and a worker's"),
    ],
)
def test_bad_options_are_one_sentence(args, sentence, capsys):
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.startswith(sentence) and err.count("\n") == 1


def test_missing_nginx_is_one_sentence(monkeypatch, capsys):
    monkeypatch.setenv("SEQ2SEQ_VIZ_NGINX", "/nonexistent/nginx")
    assert main(["serve"]) == 1
    assert capsys.readouterr().err == "error: nginx is not installed: apt-get install nginx.\n"


def test_a_taken_worker_port_is_one_sentence(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--no-proxy", "--workers", "1", "--worker-port", str(port)]) == 1
    assert f"error: port {port} on 127.0.0.1 is not free" in capsys.readouterr().err


def test_the_frontend_is_laid_out_for_nginx_as_links_with_a_gzip_copy_of_the_text_beside_them(tmp_path):
    source = tmp_path / "streamlit-static"
    files = {
        "js/PlotlyChart.abc.js": b"var plotly = 1;\n" * 400,  # text of 6 KB: gzipped
        "js/tiny.js": b"export {};\n",  # under GZIP_MIN_BYTES: served as it is
        "css/index.css": b"body { margin: 0 }\n" * 100,
        "media/font.woff2": bytes(range(256)) * 8,  # already compressed: never gzipped again
    }
    for name, content in files.items():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_bytes(content)
    assert prepare_frontend(tmp_path / "frontend", source) == 4
    static = tmp_path / "frontend" / "static"  # nginx's `root frontend;` + the request's /static/... path
    for name, content in files.items():
        assert (static / name).is_symlink() and (static / name).read_bytes() == content
    assert sorted(str(p.relative_to(static)) for p in static.rglob("*.gz")) == [
        "css/index.css.gz",
        "js/PlotlyChart.abc.js.gz",
    ]
    assert gzip.decompress((static / "js/PlotlyChart.abc.js.gz").read_bytes()) == files["js/PlotlyChart.abc.js"]
    assert prepare_frontend(tmp_path / "elsewhere", tmp_path / "missing") == 0  # no Streamlit: the workers serve it


def test_nginx_serves_the_frontend_from_disk_and_asks_the_workers_for_everything_else():
    text = nginx_config(ServeConfig(workers=2))
    static = text[text.index("location ^~ /static/ {") :]
    static = static[: static.index("}\n\n")]
    for line in (
        "root frontend;",
        "try_files $uri @workers;",
        "gzip_static on;",
        "gzip_vary on;",
        "application/javascript js;",
        'add_header Cache-Control "public, immutable, max-age=31536000";',
    ):
        assert line in static, line
    assert "location @workers {" in text and text.count("proxy_pass http://seq2seq_viz_workers;") == 3


def test_the_serve_path_imports_torch_nowhere_at_module_level():
    """(test_imports runs `serve --print-config` in a fresh interpreter and checks torch stays unloaded.)"""
    for module in ("cli.py", "serve.py"):  # at module level: only inside the functions of other commands
        tree = ast.parse((ROOT / "seq2seq_viz" / module).read_text())
        top = {alias.name for node in tree.body if isinstance(node, ast.Import) for alias in node.names}
        assert "torch" not in top, module


# ---- a real server: `python -m seq2seq_viz serve --workers 2` on a free port ----


@pytest.fixture(scope="module")
def served(nginx):
    ARTIFACTS.mkdir(exist_ok=True)
    process, url = classroom.start_server(2, ARTIFACTS / "serve.log")
    yield process, url
    classroom.stop_server(process)


def workers_of(process: subprocess.Popen) -> dict[str, int]:
    """'127.0.0.1:PORT' (as nginx names a worker) -> the pid of the Streamlit process on that port."""
    found = {}
    for pid in classroom.process_tree(process.pid):
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
        except OSError:
            continue
        if "streamlit" in args and "--server.port" in args:
            found[f"127.0.0.1:{args[args.index('--server.port') + 1]}"] = pid
    return found


def answered_by(url: str, route: str) -> str:
    request = urllib.request.Request(f"{url}/_stcore/health", headers={"Cookie": f"{ROUTE_COOKIE}={route}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        set_cookies = response.headers.get_all("Set-Cookie") or []  # Streamlit sets its own XSRF cookie
        assert not [c for c in set_cookies if c.startswith(ROUTE_COOKIE)]  # a browser that has a route keeps it
        return response.headers[WORKER_HEADER]


def test_a_route_cookie_pins_a_browser_to_one_worker_and_routes_spread_over_both(served):
    process, url = served
    with urllib.request.urlopen(f"{url}/healthz", timeout=10) as response:
        assert response.read() == b"ok\n" and response.headers.get("Set-Cookie") is None
    with urllib.request.urlopen(f"{url}/translate", timeout=10) as response:
        assert response.headers["Set-Cookie"].startswith(f"{ROUTE_COOKIE}=")
    routes = [f"route{n}" for n in range(16)]
    first = [answered_by(url, route) for route in routes]
    assert [answered_by(url, route) for route in routes] == first
    assert set(first) == set(workers_of(process))


def test_streamlit_s_frontend_comes_from_nginx_gzipped_once_and_a_missing_file_from_a_worker(served):
    _, url = served
    plotly = next((streamlit_frontend() / "js").glob("PlotlyChart.*.js"))  # 4.7 MB of text in Streamlit 1.67
    path = f"{url}/static/js/{plotly.name}"
    request = urllib.request.Request(path, headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.headers["Content-Encoding"] == "gzip"
        assert response.headers["Content-Type"] == "application/javascript"
        assert response.headers["Cache-Control"] == "public, immutable, max-age=31536000"
        assert response.headers.get(WORKER_HEADER) is None  # nginx itself answered, from disk
        body = response.read()
    assert len(body) < plotly.stat().st_size / 2 and gzip.decompress(body) == plotly.read_bytes()
    with urllib.request.urlopen(path, timeout=10) as response:  # a client that takes no gzip gets the file itself
        assert response.headers.get("Content-Encoding") is None and response.read() == plotly.read_bytes()
    with urllib.request.urlopen(f"{url}/static/js/not-in-this-streamlit.js", timeout=10) as response:
        assert response.headers[WORKER_HEADER] in workers_of(served[0])


def test_a_class_of_20_is_served_and_both_workers_get_students(served):
    process, url = served
    results = classroom.run_sync(classroom.run_class(url, STUDENTS, THINK, ramp_s=2.0, deadline_s=90.0, seed=3))
    assert results.failures == []
    assert results.interactions == STUDENTS * LESSON
    assert results.reconnects == 0
    assert all(len(sockets) == 1 for sockets in results.workers.values())
    assert set(Counter(sockets[0] for sockets in results.workers.values())) == set(workers_of(process))


def test_a_killed_worker_s_students_reconnect_and_the_other_s_never_notice(served):
    """SIGKILL the worker most students are on once the class is under way (30 of its 120 interactions done).

    Every socket's worker is recorded from nginx's header, so the students who started on the surviving
    worker are known exactly: none of them may have reconnected, and every reconnect must come from a student
    who started on the killed worker. The supervisor then restarts the killed worker on its port.
    """
    process, url = served
    workers = workers_of(process)
    assert len(workers) == 2
    results = classroom.Results()

    async def class_with_a_kill() -> str:
        lesson = asyncio.create_task(
            classroom.run_class(url, STUDENTS, THINK, ramp_s=2.0, deadline_s=90.0, seed=5, results=results)
        )
        while results.interactions < 30 and not lesson.done():
            await asyncio.sleep(0.05)
        victim = Counter(sockets[0] for sockets in results.workers.values() if sockets).most_common(1)[0][0]
        os.killpg(workers[victim], signal.SIGKILL)
        await lesson
        return victim

    victim = classroom.run_sync(class_with_a_kill())
    (survivor,) = set(workers) - {victim}
    assert results.failures == []
    assert results.interactions == STUDENTS * LESSON
    assert results.reconnects > 0
    started_on = {name: [n for n, s in results.workers.items() if s[0] == name] for name in workers}
    assert started_on[survivor] and all(len(results.workers[n]) == 1 for n in started_on[survivor])
    reconnected = [n for n, sockets in results.workers.items() if len(sockets) > 1]
    assert reconnected and set(reconnected) <= set(started_on[victim])

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        restarted = workers_of(process).get(victim)
        if restarted not in (None, workers[victim]) and answers_health(f"http://{victim}"):
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"the supervisor did not restart the worker on {victim} within 60 s")


def answers_health(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def test_sigterm_stops_nginx_and_every_worker_and_removes_the_run_dir(served):
    """Last in this file: it stops the module's server."""
    process, _ = served
    tree = classroom.process_tree(process.pid)
    titles = [Path(f"/proc/{pid}/cmdline").read_bytes().decode().replace("\0", " ").split() for pid in tree]
    run_dir = Path(next(args[args.index("-p") + 1] for args in titles if "nginx:" in args))  # the master's title
    assert len(tree) >= 5 and run_dir.is_dir()  # serve, two workers, nginx's master and worker
    classroom.stop_server(process)
    assert process.returncode == 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in tree):
        time.sleep(0.2)
    assert [pid for pid in tree if Path(f"/proc/{pid}").exists()] == []
    assert not run_dir.exists()
