"""`serve`: N Streamlit workers behind nginx on one port, with sticky sessions, health checks and restarts.

    python -m seq2seq_viz serve --workers 4                        # one machine, one port, four cores
    python -m seq2seq_viz serve --no-proxy --worker-address 0.0.0.0   # a machine that only hosts workers
    python -m seq2seq_viz serve --workers 0 --upstream a:8502 --upstream b:8502   # the front machine

One Streamlit process uses one core, so a class is served by several processes, each with its own models and
sessions. nginx (Debian's package, run as our child from a private run directory) puts them behind one port.
A Streamlit session lives in one process (its websocket, its /media files), so nginx must send every request
of a browser to the same worker: open-source nginx has no `sticky`, so the first response sets a random route
cookie and the upstream hashes it. The cookie, not the client address, is the key: a whole class behind one
NAT still spreads over the workers. Passive checks in nginx move a route off a dead worker at once; the
supervisor loop here restarts any local worker that exits or stops answering its health check. nginx also sends
Streamlit's frontend files itself, gzipped once at startup (prepare_frontend), instead of a worker's Python
streaming them uncompressed to every new browser.

This module never imports torch or streamlit: the workers do, the supervisor needs neither.
"""

from __future__ import annotations

import ctypes
import gzip
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .errors import Seq2SeqVizError

ROOT = Path(__file__).resolve().parent.parent  # the checkout: app.py, ui/, pretrained/
ROUTE_COOKIE = "s2sv_route"
WORKER_HEADER = "X-S2SV-Worker"  # which worker answered: nginx's $upstream_addr (load tests and debugging read it)
UPSTREAM_NAME = "seq2seq_viz_workers"
POLL_S = 2.0  # the supervisor's health-check period
PROBE_TIMEOUT_S = 5.0  # a busy worker answers slowly; only MISSED_PROBES misses in a row mean it hangs
MISSED_PROBES = 3
STARTUP_S = 120.0  # two cores importing torch and streamlit N times over
STOP_S = 10.0
MAX_BACKOFF_S = 60.0  # the longest wait before restarting a worker that keeps dying during startup
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # probes never go through $http_proxy
FRONTEND_DIR = "frontend"  # in the run directory: Streamlit's frontend files as nginx serves them (prepare_frontend)
FRONTEND_TYPES = {  # what Streamlit's frontend holds, with the types Streamlit itself sends
    ".js": "application/javascript",
    ".css": "text/css",
    ".json": "application/json",
    ".html": "text/html",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".gif": "image/gif",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".ttf": "font/ttf",
}
COMPRESSIBLE = (".js", ".css", ".json", ".html", ".svg", ".map", ".txt")  # text; fonts and images are compressed
GZIP_MIN_BYTES = 1024  # below one packet gzip saves nothing worth a second file


class ServeError(Seq2SeqVizError):
    """serve cannot start or keep running: nginx missing, a port taken, a worker or nginx that died."""


class _Stop(Exception):
    """SIGTERM or SIGINT: stop nginx and every worker, then exit 0."""


def _split_host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ServeError(f"--upstream takes HOST:PORT (for example 10.0.0.7:8502), not {text!r}.")
    return host, int(port)


def _is_wildcard(address: str) -> bool:
    return address in ("0.0.0.0", "::", "[::]", "")


def _loopback_for(address: str) -> str:
    """Where this machine reaches a socket bound to `address` (a wildcard is reachable on loopback)."""
    if _is_wildcard(address):
        return "[::1]" if ":" in address else "127.0.0.1"
    return _bracketed(address)


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


@dataclass(frozen=True)
class ServeConfig:
    """What `serve` runs: local workers, other machines' workers, and nginx's public port in front of them."""

    workers: int = 2  # local Streamlit processes, one core each
    port: int = 8501  # the public port nginx listens on
    address: str = "127.0.0.1"  # nginx's listen address (0.0.0.0: the class's laptops reach it)
    worker_address: str = "127.0.0.1"  # the workers' bind address (0.0.0.0: another machine's nginx reaches them)
    worker_port: int | None = None  # the first worker's port; the next ones follow (default port + 1)
    upstreams: tuple[str, ...] = ()  # HOST:PORT of workers on other machines, added to the same upstream block
    proxy: bool = True  # False: only the workers (a machine that hosts workers for a front machine's nginx)

    def __post_init__(self) -> None:
        if self.workers < 0:
            raise ServeError("--workers must be 0 or more.")
        if not 0 < self.port < 65536:
            raise ServeError("--port must be between 1 and 65535.")
        if self.workers and not 0 < self.first_worker_port <= 65536 - self.workers:
            raise ServeError(f"--worker-port leaves no room for {self.workers} workers below port 65536.")
        for upstream in self.upstreams:
            _split_host_port(upstream)
        if not self.proxy and not self.workers:
            raise ServeError("--no-proxy starts only workers, so it needs --workers 1 or more.")
        if not self.proxy and self.upstreams:
            raise ServeError("--upstream goes to the machine that runs nginx, not to one started with --no-proxy.")
        if self.proxy and not self.workers and not self.upstreams:
            raise ServeError("--workers 0 needs at least one --upstream HOST:PORT to send students to.")
        if self.proxy and self.port in self.worker_ports:
            raise ServeError(f"port {self.port} is both nginx's and a worker's: choose another --worker-port.")

    @property
    def first_worker_port(self) -> int:
        return self.worker_port if self.worker_port is not None else self.port + 1

    @property
    def worker_ports(self) -> list[int]:
        return [self.first_worker_port + i for i in range(self.workers)]

    @property
    def servers(self) -> list[str]:
        """Every worker nginx sends students to: the local ones as this machine reaches them, then the others."""
        local = _loopback_for(self.worker_address)
        return [f"{local}:{port}" for port in self.worker_ports] + list(self.upstreams)

    @property
    def url(self) -> str:
        host = socket.gethostname() if _is_wildcard(self.address) else _bracketed(self.address)
        return f"http://{host}:{self.port}"


def nginx_config(config: ServeConfig, as_root: bool | None = None) -> str:
    """The nginx.conf that puts `config.servers` behind `config.address:port`.

    Every path is relative to nginx's prefix (-p RUN_DIR), so one text runs from any run directory and never
    touches /etc/nginx or /var.
    """
    if as_root is None:
        as_root = os.geteuid() == 0
    user = "user root;  # else its workers run as nobody, who cannot enter the run directory\n" if as_root else ""
    servers = "\n".join(f"        server {server} max_fails=1 fail_timeout=5s;" for server in config.servers)
    forwarded = """\
            proxy_set_header Host $http_host;  # with its port: Streamlit compares it with the websocket's Origin
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $http_host;
            add_header Set-Cookie $s2sv_set_cookie always;
            add_header X-S2SV-Worker $upstream_addr always;"""
    proxied = f"""\
            proxy_pass http://{UPSTREAM_NAME};
            proxy_http_version 1.1;
{forwarded}
            proxy_connect_timeout 3s;
            proxy_next_upstream error timeout http_502 http_503;"""
    types = "\n".join(f"                {mime} {suffix.lstrip('.')};" for suffix, mime in FRONTEND_TYPES.items())
    return f"""\
# Generated by `python -m seq2seq_viz serve`. Paths are relative to the run directory:
#   nginx -p RUN_DIR -c nginx.conf -e error.log
{user}daemon off;  # serve supervises nginx as its child
worker_processes 1;  # proxying a class is light work: the cores belong to the Streamlit workers
pid nginx.pid;
error_log error.log warn;

events {{
    worker_connections 4096;  # two per student (browser side and worker side) plus page loads
}}

http {{
    access_log off;
    server_tokens off;
    client_body_temp_path client_body_temp;
    proxy_temp_path proxy_temp;
    fastcgi_temp_path fastcgi_temp;
    uwsgi_temp_path uwsgi_temp;
    scgi_temp_path scgi_temp;
    client_max_body_size 200m;  # Streamlit's own upload limit (server.maxUploadSize)

    map $http_upgrade $connection_upgrade {{
        default upgrade;
        "" close;
    }}

    # Sticky sessions: a browser's first response sets a random route cookie; its websocket and every later
    # request hash that route to the same worker, even when the whole class shares one IP address. While that
    # worker is down, the consistent hash moves the route to the next live worker.
    map $cookie_{ROUTE_COOKIE} $s2sv_route {{
        "" $request_id;
        default $cookie_{ROUTE_COOKIE};
    }}
    map $cookie_{ROUTE_COOKIE} $s2sv_set_cookie {{
        "" "{ROUTE_COOKIE}=$request_id; Path=/; HttpOnly; SameSite=Lax";
        default "";  # add_header skips an empty value: the cookie is set only when the request had none
    }}

    upstream {UPSTREAM_NAME} {{
        hash $s2sv_route consistent;
{servers}
    }}

    server {{
        listen {_bracketed(config.address)}:{config.port};

        location = /healthz {{
            default_type text/plain;
            return 200 "ok\\n";
        }}

        location /_stcore/stream {{
            proxy_pass http://{UPSTREAM_NAME};
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
{forwarded}
            proxy_connect_timeout 3s;  # a machine that is off must not hold a student for the 60 s default
            proxy_next_upstream error timeout http_502 http_503;
            proxy_read_timeout 1h;  # the socket idles while a student reads
            proxy_send_timeout 1h;
            proxy_buffering off;
        }}

        # Streamlit's frontend (content-hashed JS, CSS, fonts: a first visit of /translate fetches 9.3 MB of them, 4.7
        # MB plotly) from disk, not streamed by a worker's Python. serve links the files into {FRONTEND_DIR}/ with a
        # gzip -9 copy beside each text file, so a browser gets 3.2 MB, compressed once at startup, not per request.
        # A file that is not there (no Streamlit on this machine, or another version than the workers') is asked
        # of the workers, as every other path is.
        location ^~ /static/ {{
            root {FRONTEND_DIR};
            try_files $uri @workers;
            gzip_static on;
            gzip_vary on;
            sendfile on;
            tcp_nopush on;
            types {{
{types}
            }}
            default_type application/octet-stream;
            add_header Cache-Control "public, immutable, max-age=31536000";  # as Streamlit sends them: hashed names
        }}

        location @workers {{
{proxied}
        }}

        location / {{
{proxied}
        }}
    }}
}}
"""


def streamlit_frontend() -> Path | None:
    """The built frontend Streamlit serves at /static/ (its JS, CSS and fonts), found without importing streamlit;
    None where Streamlit is not installed (a front machine that only proxies other machines' workers)."""
    try:
        spec = importlib.util.find_spec("streamlit")
    except (ImportError, ValueError):
        return None
    for location in (spec.submodule_search_locations or []) if spec else []:
        static = Path(location) / "static" / "static"
        if static.is_dir():
            return static
    return None


def prepare_frontend(target: Path, source: Path | None = None) -> int:
    """Lay out `source` (Streamlit's /static/ files) under target/static/ for nginx: a symlink to every file and, for
    text of GZIP_MIN_BYTES or more, `name.gz` (gzip -9) beside it for gzip_static. Returns how many files it
    linked (0 without Streamlit: nginx then asks the workers for them). About 1 CPU-s for Streamlit 1.67's 23 MB of
    text, done while the workers start."""
    source = source or streamlit_frontend()
    if source is None:
        return 0
    count = 0
    for path in sorted(source.rglob("*")):
        if not path.is_file():
            continue
        link = target / "static" / path.relative_to(source)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(path)
        count += 1
        if path.suffix in COMPRESSIBLE and path.stat().st_size >= GZIP_MIN_BYTES:
            compressed = gzip.compress(path.read_bytes(), compresslevel=9, mtime=0)
            link.with_name(link.name + ".gz").write_bytes(compressed)
    return count


def find_nginx() -> str:
    """The nginx binary ($SEQ2SEQ_VIZ_NGINX, then PATH, then /usr/sbin, which a normal user's PATH may lack)."""
    candidate = os.environ.get("SEQ2SEQ_VIZ_NGINX") or (
        shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    )
    if not candidate or not os.access(candidate, os.X_OK):
        raise ServeError("nginx is not installed: apt-get install nginx.")
    return candidate


def _libc_prctl():
    try:
        return ctypes.CDLL(None).prctl if sys.platform == "linux" else None
    except (OSError, AttributeError):
        return None


_PRCTL = _libc_prctl()  # looked up before any fork: the child between fork and exec should only make the call
PR_SET_PDEATHSIG = 1


def _exit_with_parent() -> None:
    """In the child before exec: get SIGTERM when serve dies, even by SIGKILL, so no worker is orphaned."""
    _PRCTL(PR_SET_PDEATHSIG, int(signal.SIGTERM))


def _spawn(command: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    # Its own process group, so a terminal's Ctrl-C reaches only serve, which then stops children in order.
    with log.open("ab") as handle:
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_exit_with_parent if _PRCTL is not None else None,
        )


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(process.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _stop(processes: list[subprocess.Popen]) -> None:
    """SIGTERM every process group at once, wait STOP_S in all, then SIGKILL what is left."""
    for process in processes:
        if process.poll() is None:
            _signal_group(process, signal.SIGTERM)
    deadline = time.monotonic() + STOP_S
    for process in processes:
        try:
            process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait()


def _last_line(log: Path) -> str:
    try:
        lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return lines[-1] if lines else ""


def _answers(url: str, timeout: float = PROBE_TIMEOUT_S) -> bool:
    try:
        with _NO_PROXY.open(url, timeout=timeout) as response:
            return response.status == 200
    except (OSError, ValueError):
        return False


def _check_port_free(address: str, port: int, flag: str) -> None:
    """A clear sentence now, rather than a worker or nginx failing to bind after a minute of startup."""
    host = address.strip("[]") or "0.0.0.0"
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as nginx and Streamlit bind
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise ServeError(f"port {port} on {host} is not free ({exc.strerror}): choose another {flag}.") from exc


@dataclass
class Worker:
    """One `streamlit run app.py` on one port, and what the supervisor knows about its health."""

    number: int
    address: str
    port: int
    log: Path
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    ready: bool = False  # answered its health check since it last started
    misses: int = 0  # health checks missed in a row since it was ready
    backoff_s: float = 0.0
    not_before: float = 0.0  # a crash-looping worker waits until then before its next start
    restarts: int = 0

    @property
    def name(self) -> str:
        return f"worker {self.number} ({_loopback_for(self.address)}:{self.port})"

    @property
    def health_url(self) -> str:
        return f"http://{_loopback_for(self.address)}:{self.port}/_stcore/health"

    def start(self) -> None:
        command = [
            sys.executable, "-m", "streamlit", "run", "app.py",
            "--server.headless", "true",
            "--server.address", self.address,
            "--server.port", str(self.port),
            "--server.fileWatcherType", "none",
            "--browser.gatherUsageStats", "false",
        ]  # fmt: skip
        # One core per worker: torch's own thread pool would fight the other workers for the same cores.
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}  # inherits SEQ2SEQ_VIZ_PRETRAINED
        self.process = _spawn(command, self.log, env)
        self.started_at, self.ready, self.misses = time.monotonic(), False, 0

    def probe(self) -> bool | None:
        """True or False when the worker runs; None while it waits to be started again."""
        if self.process is None:
            return None
        return _answers(self.health_url)

    def observe(self, healthy: bool | None) -> None:
        if healthy:
            self.ready, self.misses = True, 0
        elif healthy is False and self.ready:
            self.misses += 1

    def trouble(self, now: float) -> str | None:
        """Why this worker must be restarted, or None."""
        if self.process is None:
            return None
        code = self.process.poll()
        if code is not None:
            return f"exited with code {code}" + (f" ({_last_line(self.log)})" if code > 0 else "")
        if self.ready and self.misses >= MISSED_PROBES:
            return f"missed {self.misses} health checks in a row"
        if not self.ready and now - self.started_at > STARTUP_S:
            return f"did not answer its health check within {STARTUP_S:.0f} s"
        return None

    def restart(self, now: float) -> None:
        """Stop what is left of it, and start it again: at once, or after a growing delay if it keeps dying."""
        if self.process is not None:
            _stop([self.process])
        self.restarts += 1
        # A worker that served and then died comes back at once; one that dies before it is ever ready (a broken
        # checkout, a port taken by someone else) would otherwise restart in a tight loop.
        self.backoff_s = 0.0 if self.ready else min(max(self.backoff_s * 2, POLL_S), MAX_BACKOFF_S)
        self.process, self.not_before = None, now + self.backoff_s
        if not self.backoff_s:
            self.start()


class Nginx:
    """nginx as our child, from a private run directory holding its config, pid, error log and temp files."""

    def __init__(self, binary: str, config: ServeConfig, run_dir: Path) -> None:
        self.binary, self.config, self.run_dir = binary, config, run_dir
        self.conf = run_dir / "nginx.conf"
        self.error_log = run_dir / "error.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.conf.write_text(nginx_config(self.config))
        command = [self.binary, "-p", f"{self.run_dir}/", "-c", str(self.conf), "-e", str(self.error_log)]
        self.process = _spawn(command, self.run_dir / "nginx.out")

    @property
    def health_url(self) -> str:
        return f"http://{_loopback_for(self.config.address)}:{self.config.port}/healthz"

    def why_it_stopped(self) -> str:
        detail = _last_line(self.error_log) or _last_line(self.run_dir / "nginx.out")
        return f"code {self.process.returncode}" + (f": {detail}" if detail else "")


def _wait_until_ready(workers: list[Worker], nginx: Nginx | None) -> None:
    deadline = time.monotonic() + STARTUP_S
    while True:
        for worker in workers:
            code = worker.process.poll()
            if code is not None:
                raise ServeError(f"{worker.name} exited with code {code} before it was ready: {_last_line(worker.log)}")
            worker.observe(worker.ready or worker.probe())
        if nginx is not None and nginx.process.poll() is not None:
            raise ServeError(f"nginx could not start ({nginx.why_it_stopped()}).")
        if all(worker.ready for worker in workers) and (nginx is None or _answers(nginx.health_url, 2)):
            return
        if time.monotonic() > deadline:
            late = ", ".join(worker.name for worker in workers if not worker.ready) or "nginx"
            raise ServeError(f"{late} did not answer its health check within {STARTUP_S:.0f} s.")
        time.sleep(0.3)


def _supervise(workers: list[Worker], nginx: Nginx | None, log: Callable[[str], None]) -> None:
    """Forever: restart local workers that exit or hang; end with ServeError when nginx exits."""
    pool = ThreadPoolExecutor(max_workers=min(max(len(workers), 1), 16), thread_name_prefix="probe")
    try:
        while True:
            if nginx is not None and nginx.process.poll() is not None:
                raise ServeError(f"nginx exited ({nginx.why_it_stopped()}), so serve stopped the workers.")
            for worker, healthy in zip(workers, pool.map(Worker.probe, workers), strict=True):
                worker.observe(healthy)
            now = time.monotonic()
            for worker in workers:
                reason = worker.trouble(now)
                if reason is not None:
                    worker.restart(now)
                    when = f" in {worker.backoff_s:.0f} s" if worker.process is None else ""
                    log(f"{worker.name} {reason}; restarting it{when}")
                elif worker.process is None and now >= worker.not_before:
                    worker.start()  # spawned here, on the main thread: PR_SET_PDEATHSIG follows the spawning thread
            time.sleep(POLL_S)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)  # a probe in flight must not delay stopping the children


def _raise_stop(signum: int, frame) -> None:
    raise _Stop(signum)


def serve(config: ServeConfig, out: Callable[[str], None] | None = None) -> int:
    """Run the workers (and nginx) until SIGTERM or SIGINT; 0 then. Raises ServeError when it cannot go on."""
    say = out or (lambda line: print(line, flush=True))
    log = out or (lambda line: print(f"seq2seq-viz serve: {line}", file=sys.stderr, flush=True))
    binary = find_nginx() if config.proxy else None
    if config.workers and not (ROOT / "app.py").is_file():
        raise ServeError(f"serve runs the app from a source checkout, and {ROOT / 'app.py'} does not exist.")
    if config.proxy:
        _check_port_free(config.address, config.port, "--port")
    for port in config.worker_ports:
        _check_port_free(config.worker_address, port, "--worker-port")

    run_dir = Path(tempfile.mkdtemp(prefix="seq2seq-viz-serve-"))
    workers = [Worker(n + 1, config.worker_address, port, run_dir / f"worker-{port}.log")
               for n, port in enumerate(config.worker_ports)]  # fmt: skip
    nginx = Nginx(binary, config, run_dir) if binary else None
    previous = {signum: signal.signal(signum, _raise_stop) for signum in (signal.SIGTERM, signal.SIGINT)}
    preparing = ThreadPoolExecutor(max_workers=1, thread_name_prefix="frontend")
    try:
        for worker in workers:
            worker.start()
        # zlib releases the GIL: the frontend is compressed on another core while the workers import torch
        frontend = preparing.submit(prepare_frontend, run_dir / FRONTEND_DIR) if nginx is not None else None
        _wait_until_ready(workers, None)  # nginx after the workers: it would mark workers still starting as failed
        if nginx is not None:
            try:
                frontend.result()
            except OSError as exc:  # nginx then asks the workers for whatever files are missing
                log(f"could not lay out Streamlit's frontend for nginx ({exc}); the workers serve it")
            nginx.start()
            _wait_until_ready(workers, nginx)
            for upstream in config.upstreams:
                if not _answers(f"http://{upstream}/_stcore/health", 2):
                    log(f"upstream {upstream} does not answer yet; nginx routes around it until it does")
        if nginx is not None:
            say(f"seq2seq-viz: {config.url} ({len(config.servers)} workers behind nginx; Ctrl-C stops)")
        else:
            ports = f"{workers[0].port}-{workers[-1].port}" if len(workers) > 1 else str(workers[0].port)
            say(f"seq2seq-viz: {len(workers)} workers on {config.worker_address} ports {ports} (Ctrl-C stops)")
        _supervise(workers, nginx, log)
    except _Stop:
        return 0
    finally:
        for signum in previous:  # the cleanup below is bounded; a second Ctrl-C must not cut it short
            signal.signal(signum, signal.SIG_IGN)
        preparing.shutdown(wait=True)  # a few seconds at most; then nothing writes into the run dir being removed
        if nginx is not None and nginx.process is not None:
            _stop([nginx.process])  # first: no new request reaches a worker that is stopping
        _stop([worker.process for worker in workers if worker.process is not None])
        shutil.rmtree(run_dir, ignore_errors=True)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0
