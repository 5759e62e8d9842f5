"""Server configuration with Nakama's keys and defaults.

Sources, later winning: defaults, YAML files (``--config a.yml --config b.yml``,
merged in order), environment variables (``NAKAMA_SOCKET_PORT=7351``) and
command-line flags in Nakama's form (``--socket.port 7351``). Everything is
validated at start-up; a bad value stops the server with one line naming the key.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

DEFAULT_SECRETS = {
    "session.encryption_key": "defaultencryptionkey",
    "session.refresh_encryption_key": "defaultrefreshencryptionkey",
    "socket.server_key": "defaultkey",
    "runtime.http_key": "defaulthttpkey",
    "console.password": "password",
    "console.signing_key": "defaultsigningkey",
}
# Published defaults production mode refuses besides the secrets: knowing the console's user name is
# half of signing in to it.
PRODUCTION_DEFAULTS = {**DEFAULT_SECRETS, "console.username": "admin"}
# The shortest value production mode accepts for each secret. HMAC keys (tokens, console sessions) want
# 32 bytes, as HS256's own digest size; keys and passwords a person types want at least 16 characters.
MIN_SECRET_LENGTH = {
    "session.encryption_key": 32,
    "session.refresh_encryption_key": 32,
    "socket.server_key": 16,
    "runtime.http_key": 16,
    "console.password": 16,
    "console.signing_key": 32,
}
ENV_PREFIX = "NAKAMA_"


class ConfigError(Exception):
    """A configuration problem, worded as one line that names the key."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LoggerConfig(_Section):
    level: Literal["debug", "info", "warn", "error"] = "info"
    stdout: bool = True
    file: str = ""
    format: Literal["json", "text"] = "json"
    rotation: bool = False
    max_size: int = Field(100, ge=1)
    max_age: int = Field(0, ge=0)
    max_backups: int = Field(0, ge=0)
    local_time: bool = False
    compress: bool = False

    @field_validator("level", "format", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.lower()
            return "warn" if value == "warning" else value
        return value


class SessionConfig(_Section):
    encryption_key: str = Field("defaultencryptionkey", min_length=1)
    token_expiry_sec: int = Field(60, ge=1)
    refresh_encryption_key: str = Field("defaultrefreshencryptionkey", min_length=1)
    refresh_token_expiry_sec: int = Field(3600, ge=1)
    single_socket: bool = False
    single_match: bool = False
    single_party: bool = False
    single_session: bool = False
    # nakama-py: bcrypt cost of stored account passwords (Nakama's is 13; each step doubles the work).
    bcrypt_cost: int = Field(13, ge=10, le=16)
    # nakama-py: failed sign-ins (a wrong password, an unknown email, username or custom ID) tolerated
    # per account and per client address inside the lockout window, Nakama's login attempt limits;
    # reaching it locks for the window. 0 turns a limit off.
    login_max_attempts_account: int = Field(5, ge=0)
    login_lockout_account_sec: int = Field(60, ge=1)
    login_max_attempts_ip: int = Field(10, ge=0)
    login_lockout_ip_sec: int = Field(600, ge=1)

    @model_validator(mode="after")
    def _keys_differ(self) -> SessionConfig:
        if self.encryption_key == self.refresh_encryption_key:
            raise ValueError("refresh_encryption_key: must differ from session.encryption_key")
        if (self.single_match or self.single_party) and not self.single_socket:
            raise ValueError("single_match/single_party: require session.single_socket")
        return self


class SocketConfig(_Section):
    server_key: str = Field("defaultkey", min_length=1)
    port: int = Field(7350, ge=1, le=65535)
    address: str = ""
    protocol: Literal["tcp", "tcp4", "tcp6"] = "tcp"
    max_message_size_bytes: int = Field(4096, ge=1)
    max_request_size_bytes: int = Field(262144, ge=1)
    read_timeout_ms: int = Field(10000, ge=1)
    write_timeout_ms: int = Field(10000, ge=1)
    idle_timeout_ms: int = Field(60000, ge=1)
    ping_period_ms: int = Field(15000, ge=1)
    pong_wait_ms: int = Field(25000, ge=1)
    write_wait_ms: int = Field(5000, ge=1)
    close_ack_wait_ms: int = Field(2000, ge=1)
    outgoing_queue_size: int = Field(64, ge=1)
    ping_backoff_threshold: int = Field(20, ge=1)
    ssl_certificate: str = ""
    ssl_private_key: str = ""
    response_headers: list[str] = []
    proxy_count: int = Field(1, ge=0)
    # nakama-py: server processes sharing the port; 0 means one per CPU.
    workers: int = Field(1, ge=0, le=256)
    # nakama-py: messages one socket may send per second (sustained) and in a burst; past it a
    # message is answered with an error instead of being processed. 0 turns the limit off.
    message_rate_per_sec: float = Field(1000.0, ge=0)
    message_burst: int = Field(2000, ge=1)
    # nakama-py: HTTP requests one process serves at once; past it a request is answered 503 with
    # Retry-After instead of queued (wire/admission.py). Sized by Little's law: about 2,000 racing
    # requests/s per process within the mix's 50 ms p99 is 100 in flight. 0 turns the bound off.
    max_inflight_requests: int = Field(128, ge=0)
    # nakama-py: the bound above is lowered while more than 5% of requests take longer than this, and
    # raised back while they are faster (wire/concurrency_limit.py); the racing mix's p99 target. 0: fixed.
    inflight_latency_target_ms: int = Field(50, ge=0)
    # nakama-py: a refused request's 503 is held this long before it is written, so a client that retries
    # at once (a closed loop) spends its connection's time waiting, not the server's CPU on refusals
    # (wire/admission.py). Held refusals are bounded by the connections. 0: refused at once.
    shed_delay_ms: int = Field(100, ge=0)
    # nakama-py: an HTTP request still running after this is cancelled and answered
    # DEADLINE_EXCEEDED (504); below nakama-js's 7 s client timeout so the client sees why. 0: none.
    request_timeout_ms: int = Field(5000, ge=0)

    @model_validator(mode="after")
    def _check(self) -> SocketConfig:
        if self.ping_period_ms >= self.pong_wait_ms:
            raise ValueError("ping_period_ms: must be less than socket.pong_wait_ms")
        if bool(self.ssl_certificate) != bool(self.ssl_private_key):
            raise ValueError("ssl_certificate: ssl_certificate and ssl_private_key must be set together")
        for header in self.response_headers:
            if "=" not in header:
                raise ValueError(f"response_headers: {header!r} is not of the form Key=Value")
        return self


class RuntimeConfig(_Section):
    http_key: str = Field("defaulthttpkey", min_length=1)
    path: str = ""
    env: list[str] = []
    # Accepted so Nakama configuration files load unchanged; nakama-py runs Python modules.
    lua_min_count: int = 16
    lua_max_count: int = 48
    lua_call_stack_size: int = 128
    lua_registry_size: int = 512
    lua_read_only_globals: bool = True
    lua_api_stacktrace: bool = False
    js_min_count: int = 16
    js_max_count: int = 32
    js_entrypoint: str = ""
    event_queue_size: int = Field(65536, ge=1)
    event_queue_workers: int = Field(8, ge=1)
    min_count: int = 0
    max_count: int = 0
    call_stack_size: int = 0
    registry_size: int = 0
    read_only_globals: bool = True

    @field_validator("env")
    @classmethod
    def _env_pairs(cls, value: list[str]) -> list[str]:
        for item in value:
            if "=" not in item or not item.split("=", 1)[0].strip():
                raise ValueError(f"{item!r} is not of the form key=value")
        return value

    @property
    def env_map(self) -> dict[str, str]:
        pairs = (item.split("=", 1) for item in self.env)
        return {key.strip(): value for key, value in pairs}


class DatabaseConfig(_Section):
    address: list[str] = []
    conn_max_lifetime_ms: int = Field(3600000, ge=0)
    max_open_conns: int = Field(100, ge=1)
    max_idle_conns: int = Field(100, ge=0)
    dns_scan_interval_sec: int = Field(60, ge=0)
    # nakama-py: streaming replicas (same forms as address) for reads that tolerate staleness.
    read_address: list[str] = []
    # nakama-py: a replica further than this behind the primary is taken out of rotation.
    read_max_lag_ms: int = Field(1000, ge=1)
    # nakama-py: address is a pgbouncer in transaction pooling mode: no server-side prepared
    # statements (a later transaction may run on another server connection).
    pgbouncer: bool = False
    # nakama-py: a direct address for what must hold one session (LISTEN, advisory locks,
    # migrations); empty means the first address.
    session_address: str = ""

    @field_validator("address", "read_address", mode="before")
    @classmethod
    def _as_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value


class LeaderboardConfig(_Section):
    blacklist_rank_cache: list[str] = []
    callback_queue_size: int = Field(65536, ge=1)
    callback_queue_workers: int = Field(8, ge=1)
    rank_cache_workers: int = Field(1, ge=1)


class ConsoleConfig(_Section):
    # The web console (nakama_py/console), served by the only or the first worker process.
    port: int = Field(7351, ge=1, le=65535)
    address: str = ""
    max_message_size_bytes: int = 4194304
    read_timeout_ms: int = Field(10000, ge=1)
    write_timeout_ms: int = Field(60000, ge=1)
    idle_timeout_ms: int = Field(300000, ge=1)
    username: str = Field("admin", min_length=1)
    password: str = Field("password", min_length=1)
    token_expiry_sec: int = Field(86400, ge=1)
    signing_key: str = Field("defaultsigningkey", min_length=1)


class MetricsConfig(_Section):
    reporting_freq_sec: int = Field(60, ge=1)
    namespace: str = ""
    prometheus_port: int = Field(0, ge=0, le=65535)
    prefix: str = "nakama"
    custom_prefix: str = "custom"


class SteamConfig(_Section):
    publisher_key: str = ""
    app_id: int = 0


class AppleConfig(_Section):
    bundle_id: str = ""


class FacebookInstantGameConfig(_Section):
    app_secret: str = ""


class FacebookLimitedLoginConfig(_Section):
    app_id: str = ""


class SocialConfig(_Section):
    steam: SteamConfig = SteamConfig()
    apple: AppleConfig = AppleConfig()
    facebook_instant_game: FacebookInstantGameConfig = FacebookInstantGameConfig()
    facebook_limited_login: FacebookLimitedLoginConfig = FacebookLimitedLoginConfig()


class ClusterConfig(_Section):
    """nakama-py's own keys for clusters of nodes (Nakama's open-source edition has none)."""

    # The cluster bus: empty means PostgreSQL LISTEN/NOTIFY (nothing else to run); a nats:// URL
    # (several may be given, comma-separated) routes it, and node membership, through NATS.
    nats_url: str = ""
    # Subject prefix on the NATS server, so several clusters can share one server.
    nats_prefix: str = Field("nakama", pattern=r"^[A-Za-z0-9_-]{1,32}$")
    # With NATS and several nodes: how long an answer to a write that changed a leaderboard record waits
    # after the change, so that another node can prove its reader's own writes at once instead of
    # asking (core/node_sync.py). 0: never held, and every such read on another node waits for a round trip.
    write_hold_ms: int = Field(25, ge=0, le=1000)


class PartyConfig(_Section):
    # Nakama batches party label index updates at this interval; nakama-py indexes at once, so it is
    # accepted and checked only.
    label_update_interval_ms: int = Field(1000, ge=1)
    # How often parties with no members and no activity since the previous check are closed (0: never).
    idle_check_interval_ms: int = Field(30000, ge=0)


class MatchmakerConfig(_Section):
    """Nakama's matchmaker keys and defaults."""

    max_tickets: int = Field(3, ge=1)      # concurrent tickets per session or party
    interval_sec: int = Field(15, ge=1)    # how often groups are formed
    max_intervals: int = Field(2, ge=1)    # intervals at max count before min count will do
    rev_precision: bool = False            # both tickets' queries must accept each other
    rev_threshold: int = Field(1, ge=0)    # intervals of processing time after which rev_precision relaxes


class MatchConfig(_Section):
    """Nakama's ``match`` section: the bounds of each authoritative match (core/matches)."""

    input_queue_size: int = Field(128, ge=1)          # match_data_send messages waiting for the next tick
    call_queue_size: int = Field(128, ge=1)           # joins, leaves, terminate, state reads; full: the match ends
    signal_queue_size: int = Field(10, ge=1)
    join_attempt_queue_size: int = Field(128, ge=1)   # full: "Match is not currently accepting join requests"
    deferred_queue_size: int = Field(128, ge=1)       # dispatcher broadcasts per callback
    join_marker_deadline_ms: int = Field(15000, ge=1)  # an allowed join that never arrives is dropped after this
    max_empty_sec: int = Field(0, ge=0)               # 0: an empty match is never ended for being empty
    label_update_interval_ms: int = Field(1000, ge=1)  # label updates reach other processes' indexes within this


# Nakama sections nakama-py does not implement: accepted (so a Nakama file loads) and reported.
UNSUPPORTED_SECTIONS = ("tracker", "iap", "google_auth", "satori",
                        "storage", "mfa", "limit")


class Config(_Section):
    name: str = Field("nakama", min_length=1, max_length=16)
    data_dir: str = ""
    shutdown_grace_sec: int = Field(0, ge=0)
    config: list[str] = []
    # nakama-py: refuse to start while a secret is at its published default or too short.
    production: bool = False
    logger: LoggerConfig = LoggerConfig()
    session: SessionConfig = SessionConfig()
    socket: SocketConfig = SocketConfig()
    runtime: RuntimeConfig = RuntimeConfig()
    database: DatabaseConfig = DatabaseConfig()
    leaderboard: LeaderboardConfig = LeaderboardConfig()
    console: ConsoleConfig = ConsoleConfig()
    metrics: MetricsConfig = MetricsConfig()
    social: SocialConfig = SocialConfig()
    cluster: ClusterConfig = ClusterConfig()
    matchmaker: MatchmakerConfig = MatchmakerConfig()
    tracker: dict[str, Any] = {}
    iap: dict[str, Any] = {}
    google_auth: dict[str, Any] = {}
    satori: dict[str, Any] = {}
    match: MatchConfig = MatchConfig()
    party: PartyConfig = PartyConfig()
    storage: dict[str, Any] = {}
    mfa: dict[str, Any] = {}
    limit: dict[str, Any] = {}

    # Where each key's value came from ("default", "file F", "env NAKAMA_X", "flag"), for the console.
    _sources: dict[str, str] = PrivateAttr(default_factory=dict)

    def source_of(self, path: str) -> str:
        return self._sources.get(path, "default")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", value):
            raise ValueError("must be 1-16 letters, digits, '_', '.' or '-'")
        return value

    # --- derived values -------------------------------------------------

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir) if self.data_dir else Path.cwd() / "data"

    @property
    def runtime_path(self) -> Path:
        if self.runtime.path:
            return Path(self.runtime.path)
        local = Path.cwd() / "runtime_modules"
        return local if local.is_dir() else self.data_path / "modules"

    @property
    def workers(self) -> int:
        return self.socket.workers or (os.cpu_count() or 1)

    def default_secrets(self) -> list[str]:
        """Keys still holding Nakama's published defaults."""
        found = []
        for path, default in DEFAULT_SECRETS.items():
            section, key = path.split(".")
            if getattr(getattr(self, section), key) == default:
                found.append(path)
        return found

    def weak_secrets(self) -> list[str]:
        """What production mode refuses, one phrase per secret: at its published default, or too short."""
        problems = []
        for path, default in PRODUCTION_DEFAULTS.items():
            section, key = path.split(".")
            value = getattr(getattr(self, section), key)
            minimum = MIN_SECRET_LENGTH.get(path, 1)
            if value == default:
                problems.append(f"{path} is the published default")
            elif len(value) < minimum:
                problems.append(f"{path} is shorter than {minimum} characters")
        return problems

    def secret_values(self) -> list[str]:
        """The configured secrets other than their published defaults, for the logs to mask."""
        values = []
        for path in MIN_SECRET_LENGTH:
            section, key = path.split(".")
            value = getattr(getattr(self, section), key)
            if value != DEFAULT_SECRETS.get(path):
                values.append(value)
        return values

    def unsupported_sections(self) -> list[str]:
        return [name for name in UNSUPPORTED_SECTIONS if getattr(self, name)]


# --- loading ------------------------------------------------------------


def _leaf_fields(model: type[BaseModel], prefix: str = "") -> dict[str, Any]:
    """Every settable key as a dotted path, with its annotation."""
    leaves: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        annotation = info.annotation
        path = f"{prefix}{name}"
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            leaves.update(_leaf_fields(annotation, path + "."))
        else:
            leaves[path] = annotation
    return leaves


LEAVES = _leaf_fields(Config)


def _is_list(annotation: Any) -> bool:
    return get_origin(annotation) is list or annotation is list


def _is_free_section(annotation: Any) -> bool:
    return get_origin(annotation) is dict


def env_name(path: str) -> str:
    return ENV_PREFIX + path.replace(".", "_").upper()


def _set(tree: dict[str, Any], path: str, value: Any) -> None:
    node = tree
    *parents, leaf = path.split(".")
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[leaf] = value


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = dict(value) if isinstance(value, Mapping) else value
    return base


# List keys whose items are key=value pairs: a comma inside a value (racing_rewards=1000,500)
# does not start a new item unless what follows it is itself a key=value pair.
PAIR_LISTS = {"runtime.env", "socket.response_headers"}


def _split_list(values: Sequence[str], *, pairs: bool = False) -> list[str]:
    items: list[str] = []
    for value in values:
        for part in value.split(","):
            if pairs and items and "=" not in part:
                items[-1] += "," + part
            elif part != "":
                items.append(part)
    return items


def parse_flags(args: Sequence[str]) -> tuple[list[str], dict[str, list[str]]]:
    """Split ``--config`` files and ``--section.key value`` flags out of an argument list."""
    files: list[str] = []
    flags: dict[str, list[str]] = {}
    items = list(args)
    i = 0
    while i < len(items):
        token = items[i]
        if not token.startswith("--"):
            raise ConfigError(f"unexpected argument: {token}")
        key, eq, value = token[2:].partition("=")
        if not eq:
            if i + 1 >= len(items):
                raise ConfigError(f"flag --{key} needs a value")
            value = items[i + 1]
            i += 1
        i += 1
        if key == "config":
            files.append(value)
            continue
        if key not in LEAVES or _is_free_section(LEAVES[key]):
            raise ConfigError(f"unknown configuration key: --{key}")
        flags.setdefault(key, []).append(value)
    return files, flags


def _yaml_problem(error: yaml.YAMLError) -> str:
    """The parser's complaint with the line and column (1-based) where it found it."""
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        mark = error.problem_mark
        problem = error.problem or str(error).splitlines()[0]
        return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"
    return str(error).splitlines()[0]


def _read_yaml(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {_yaml_problem(exc)}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of sections")
    return data


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    path = ".".join(str(part) for part in first["loc"] if not isinstance(part, int))
    message = str(first["msg"])
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
        # Model-level checks name their own key first ("key: problem").
        key, sep, rest = message.partition(": ")
        if sep and re.fullmatch(r"[a-z_/]+", key):
            path = f"{path}.{key}" if path else key
            message = rest
    if first["type"] == "extra_forbidden":
        return f"unknown configuration key: {path}"
    return f"invalid configuration: {path}: {message}"


def load_config(
    files: Iterable[str] = (),
    flags: Mapping[str, Sequence[str]] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Build the configuration from its sources, later ones winning."""
    tree: dict[str, Any] = {}
    sources: dict[str, str] = {}
    file_list = list(files)
    for path in file_list:
        data = _read_yaml(path)
        _merge(tree, data)
        sources.update((key, f"file {path}") for key in _paths_in(data))
    env = os.environ if environ is None else environ
    for path, annotation in LEAVES.items():
        if _is_free_section(annotation):
            continue
        raw = env.get(env_name(path))
        if raw is not None:
            _set(tree, path, _split_list([raw], pairs=path in PAIR_LISTS) if _is_list(annotation) else raw)
            sources[path] = f"env {env_name(path)}"
    for path, values in (flags or {}).items():
        annotation = LEAVES.get(path)
        if annotation is None:
            raise ConfigError(f"unknown configuration key: {path}")
        _set(tree, path, _split_list(values, pairs=path in PAIR_LISTS) if _is_list(annotation) else values[-1])
        sources[path] = "flag"
    if file_list:
        tree.setdefault("config", file_list)
    try:
        config = Config.model_validate(tree)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    config._sources = sources
    return config


def _paths_in(data: Mapping[str, Any], prefix: str = "") -> list[str]:
    """The dotted keys a YAML mapping sets."""
    paths = []
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and path not in LEAVES:
            paths.extend(_paths_in(value, path + "."))
        else:
            paths.append(path)
    return paths


def literal_choices(path: str) -> tuple[Any, ...]:
    """The allowed values of a Literal-typed key (used in help texts)."""
    return get_args(LEAVES[path])
