"""docs/openapi.json and docs/openapi-console.json are true: every route the real routers serve is described
with its methods, nothing else is, the committed files are what `nakama-py openapi` generates, and both
are valid OpenAPI 3.1."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest
from aiohttp import web
from openapi_spec_validator import validate

from nakama_py.app import build_app
from nakama_py.cli import main as cli_main
from nakama_py.console.app import build_console_app
from nakama_py.openapi.command import documents
from nakama_py.state import ServerState

DOCS = Path(__file__).resolve().parents[1] / "docs"
HTTP_METHODS = ("get", "head", "post", "put", "delete", "patch", "options")


def served(app: web.Application) -> set[tuple[str, str]]:
    """(METHOD, path) of every route, with aiohttp's ``{id:.*}`` written ``{id}`` and a static folder as
    ``/static/{filename}``."""
    routes: set[tuple[str, str]] = set()
    for route in app.router.routes():
        resource = route.resource
        assert resource is not None
        info = resource.get_info()
        if "prefix" in info:  # a static folder
            path = info["prefix"].rstrip("/") + "/{filename}"
        else:
            path = re.sub(r"\{(\w+):[^}]*\}", r"{\1}", resource.canonical)
        routes.add((route.method.upper(), path))
    return routes


def described(document: dict[str, object]) -> set[tuple[str, str]]:
    paths = document["paths"]
    assert isinstance(paths, dict)
    return {(method.upper(), path) for path, item in paths.items() for method in item if method in HTTP_METHODS}


def compare(served_routes: set[tuple[str, str]], described_routes: set[tuple[str, str]], file: str) -> list[str]:
    missing = [f"{m} {p} is served but missing from {file} (add it to nakama_py/openapi/, run `nakama-py openapi`)"
               for m, p in sorted(served_routes - described_routes, key=lambda r: (r[1], r[0]))]
    extra = [f"{m} {p} is described in {file} but not served" for m, p in sorted(described_routes - served_routes)]
    return missing + extra


def load(name: str) -> dict[str, object]:
    value = orjson.loads((DOCS / name).read_bytes())
    assert isinstance(value, dict)
    return value


async def test_every_api_route_is_described_and_nothing_else(state: ServerState) -> None:
    problems = compare(served(build_app(state)), described(load("openapi.json")), "docs/openapi.json")
    assert not problems, "\n".join(problems)


async def test_every_console_route_is_described_and_nothing_else(state: ServerState) -> None:
    problems = compare(served(build_console_app(state)), described(load("openapi-console.json")),
                       "docs/openapi-console.json")
    assert not problems, "\n".join(problems)


def test_the_committed_files_are_what_the_generator_writes(capsys: pytest.CaptureFixture[str]) -> None:
    stale = [name for name, content in documents().items() if (DOCS / name).read_bytes() != content]
    assert not stale, f"run `nakama-py openapi`: {stale} differ from what it generates"
    assert cli_main(["openapi", "--check", str(DOCS)]) == 0


def test_the_check_names_a_stale_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name, content in documents().items():
        (tmp_path / name).write_bytes(content)
    (tmp_path / "openapi.json").write_bytes(b"{}")
    assert cli_main(["openapi", "--check", str(tmp_path)]) == 1
    assert "openapi.json" in capsys.readouterr().err and "openapi-console.json" not in capsys.readouterr().err


@pytest.mark.parametrize("name", ["openapi.json", "openapi-console.json"])
def test_the_documents_are_valid_openapi_3_1(name: str) -> None:
    document = load(name)
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_every_reference_resolves_and_every_operation_id_is_unique() -> None:
    document = load("openapi.json")
    text = (DOCS / "openapi.json").read_text()
    components = document["components"]
    assert isinstance(components, dict)
    for kind, name in re.findall(r'"#/components/(\w+)/(\w+)"', text):
        assert name in components[kind], f"#/components/{kind}/{name} does not resolve"
    ids = re.findall(r'"operationId": "(\w+)"', text)
    assert len(ids) == len(set(ids))
