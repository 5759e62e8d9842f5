"""The layering that docs/architecture.md states, checked on every import of the package.

Each module belongs to a layer (its first package under ``nakama_py``, or the root module's
name); ``MAY_IMPORT`` lists, for each layer, the other layers it may import. Imports under
``TYPE_CHECKING`` count too: a cycle hidden from the interpreter is still a cycle for a reader.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "nakama_py"

# Shared leaves every layer may use: error codes, config models, logging, metrics, the bus interface,
# the per-request account of time spent waiting on other nodes (request_waits), what a handler may read of an
# HTTP request whichever core parsed it (wire.request_view, wire.lane_request),
# the leaderboard vocabulary (sort orders and operators), and Nakama's protocol messages (proto: generated
# from our .proto files, imports nothing else).
LEAVES = {"errors", "config", "logs", "metrics", "route_hooks", "request_waits", "cluster.bus", "cluster.event_log",
          "leaderboard_enums", "__init__", "proto", "wire.request_view", "wire.lane_request"}

MAY_IMPORT: dict[str, set[str]] = {
    "wire": set(),
    "db": {"cluster.bus"},
    "cluster": {"db"},
    "core": {"db"},
    "runtime": {"core", "wire"},
    "scheduler": {"core", "db", "cluster"},
    "api": {"core", "wire", "runtime", "state"},
    "realtime": {"core", "wire", "runtime", "state", "cluster"},
    "console": {"core", "wire", "runtime", "state", "cluster"},
    # The composition root and process lifecycle wire everything together.
    "state": {"core", "db", "cluster", "runtime", "scheduler", "wire", "realtime"},
    "app": {"api", "realtime", "console", "state", "wire"},
    "server": {"app", "state", "db", "cluster", "core", "runtime", "scheduler", "wire", "console", "realtime",
               "supervisor", "worker_spec", "fork_memory", "host_checks"},
    "host_checks": {"db"},  # warnings about the host, read at start (the database address: db.address)
    # The supervisor program (after exec) imports the standard library and logs; its scrapes, the endpoint.
    "supervisor": {"metrics_endpoint"},
    "metrics_endpoint": set(),
    "worker_spec": set(),
    "fork_memory": set(),
    "cli": {"server", "db", "scheduler", "bench", "wire", "openapi"},
    "__main__": {"cli"},
    "bench": set(),  # a client of the wire API only
    "openapi": set(),  # the OpenAPI description: a table of the wire, imports nothing of the server
}
# Third-party packages a layer must not import (the layer above or below owns them).
FORBIDDEN_THIRD_PARTY = {"core": {"aiohttp", "psycopg", "psycopg_pool"}, "runtime": {"psycopg", "psycopg_pool"},
                         "api": {"psycopg", "psycopg_pool"}, "wire": {"psycopg", "psycopg_pool"}}
# What a layer may never import even from an allowed layer: implementations behind an interface.
CLUSTER_IMPLEMENTATIONS_ALLOWED = {"cluster", "state", "server", "scheduler", "realtime", "console"}


def layer_of(module: str) -> str:
    """``nakama_py.core.ranks`` -> ``core``; ``nakama_py.cluster.bus`` -> ``cluster.bus``."""
    parts = module.split(".")[1:]
    if not parts:
        return "__init__"
    if parts[0] == "cluster" and len(parts) > 1 and parts[1] in ("bus", "event_log"):
        return f"cluster.{parts[1]}"
    if parts[0] == "wire" and len(parts) > 1 and parts[1] in ("request_view", "lane_request"):
        return f"wire.{parts[1]}"
    return parts[0]


def module_name(path: Path, package: Path = PACKAGE) -> str:
    rel = path.relative_to(package.parent).with_suffix("")
    name = ".".join(rel.parts)
    return name.removesuffix(".__init__")


def imports_of(path: Path, package_dir: Path = PACKAGE) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[int, str]] = []
    package = module_name(path, package_dir).rsplit(".", 0 if path.name == "__init__.py" else 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import: resolve against this module's package
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base]) if base else ".".join(anchor)
            found.append((node.lineno, base))
            # ``from nakama_py import state`` imports the module nakama_py.state
            if base in ("nakama_py", "nakama_py.cluster"):
                found.extend((node.lineno, f"{base}.{alias.name}") for alias in node.names
                             if not alias.name.startswith("__"))
    return found


def violations(package: Path = PACKAGE) -> list[str]:
    problems = []
    for path in sorted(package.rglob("*.py")):
        source = module_name(path, package)
        src_layer = layer_of(source)
        if src_layer in LEAVES and src_layer != "cluster.bus":
            allowed: set[str] = set()
        else:
            allowed = MAY_IMPORT.get(src_layer.split(".")[0], set())
        for line, target in imports_of(path, package):
            where = f"{path.relative_to(package.parent)}:{line}"
            top = target.split(".")[0]
            if top != "nakama_py":
                if top in FORBIDDEN_THIRD_PARTY.get(src_layer, set()):
                    problems.append(f"{where}: {src_layer} imports {target}")
                continue
            dst_layer = layer_of(target)
            if dst_layer == "__init__" and target != "nakama_py":
                continue
            if src_layer == "bench":
                if dst_layer != "bench" and target != "nakama_py":
                    problems.append(f"{where}: bench imports server module {target}")
                continue
            if dst_layer == src_layer or dst_layer in LEAVES:
                continue
            if dst_layer == "cluster" and src_layer not in CLUSTER_IMPLEMENTATIONS_ALLOWED:
                problems.append(f"{where}: {src_layer} imports cluster implementation {target} (use cluster.bus)")
                continue
            if dst_layer not in allowed:
                problems.append(f"{where}: {src_layer} imports {target}")
    return problems


@pytest.mark.unit
def test_imports_follow_the_layering() -> None:
    problems = violations()
    assert not problems, "imports against docs/architecture.md's layering:\n" + "\n".join(problems)


@pytest.mark.unit
def test_the_checker_catches_each_kind_of_violation(tmp_path: Path) -> None:
    package = tmp_path / "nakama_py"
    files = {
        "core/probe.py": "from nakama_py.api import caller\nimport aiohttp\n",
        "core/uses_bus.py": "from nakama_py.cluster.bus import ClusterBus\nfrom nakama_py.cluster import pg_bus\n",
        "api/fine.py": "from nakama_py.core import accounts\nfrom nakama_py.errors import Code\n",
        "runtime/cycle.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from nakama_py.state import X\n",
        "bench/probe.py": "from nakama_py.config import Config\nfrom . import sibling\n",
    }
    for name, text in files.items():
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(text)
    found = "\n".join(violations(package))
    assert "core imports nakama_py.api" in found
    assert "core imports aiohttp" in found
    assert "core imports cluster implementation nakama_py.cluster.pg_bus" in found
    assert "uses_bus.py:1" not in found  # the interface is fine
    assert "runtime imports nakama_py.state" in found
    assert "bench imports server module nakama_py.config" in found
    assert "api/fine.py" not in found and "bench.sibling" not in found
