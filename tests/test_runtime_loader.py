"""Loading runtime modules at start-up: what a good module registers, and how a bad one stops the server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from nakama_py.config import Config
from nakama_py.runtime.loader import RuntimeLoadError
from nakama_py.state import ServerState, build_state
from tests.support.modules import line_of, write_module
from tests.support.server import start_server

ConfigFactory = Callable[..., Config]


async def load(make_config: ConfigFactory, database_url: str, directory: Path) -> ServerState:
    return await build_state(make_config("--runtime.path", str(directory)), database_url)


async def load_error(make_config: ConfigFactory, database_url: str, directory: Path) -> RuntimeLoadError:
    with pytest.raises(RuntimeLoadError) as caught:
        state = await load(make_config, database_url, directory)
        await state.close()
    return caught.value


async def test_a_good_module_registers_its_functions(make_config: ConfigFactory, database_url: str,
                                                     tmp_path: Path) -> None:
    modules = tmp_path / "modules"
    write_module(modules, "b_game.py", """
        import shared_helper

        async def ping(ctx, logger, nk, payload):
            return shared_helper.PONG

        async def before_custom(ctx, logger, nk, message):
            return message

        async def after_custom(ctx, logger, nk, reply, message):
            pass

        async def on_reset(ctx, logger, nk, leaderboard, reset):
            pass

        async def on_shutdown(ctx, logger, nk):
            pass

        async def init_module(ctx, logger, nk, initializer):
            assert ctx.execution_mode == "run_once" and ctx.user_id is None
            initializer.register_rpc("Ping", ping)
            initializer.register_before("AuthenticateCustom", before_custom)
            initializer.register_after("authenticatecustom", after_custom)
            initializer.register_shutdown(on_shutdown)
    """)
    write_module(modules, "a_first/__init__.py", """
        ORDER = []

        async def hello(ctx, logger, nk, payload):
            return "hello"

        def init_module(ctx, logger, nk, initializer):
            initializer.register_rpc("hello", hello)
    """)
    write_module(modules, "shared_helper.py", "PONG = 'pong'\n")
    write_module(modules, "_private.py", "raise RuntimeError('never imported')\n")
    (modules / "notes.txt").write_text("not a module")

    state = await load(make_config, database_url, modules)
    try:
        registry = state.runtime.registry
        assert registry.modules == ["a_first", "b_game", "shared_helper"]
        assert sorted(registry.rpcs) == ["hello", "ping"]
        assert registry.rpcs["ping"].module == "b_game"
        assert state.runtime.rpc("PING") is registry.rpcs["ping"]
        assert sorted(registry.before) == ["authenticatecustom"]
        assert sorted(registry.after) == ["authenticatecustom"]
        assert len(registry.shutdowns) == 1
        assert state.hooks.has_before("AuthenticateCustom")
        assert not state.hooks.has_before("AuthenticateDevice")
    finally:
        await state.close()


async def test_no_modules_means_no_rpcs_and_no_hooks(make_config: ConfigFactory, database_url: str,
                                                     tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    state = await load(make_config, database_url, tmp_path / "empty")
    try:
        assert state.runtime.registry.rpcs == {}
        assert not state.hooks.has_before("AuthenticateCustom")
    finally:
        await state.close()


async def test_an_exception_while_importing_names_the_file_and_line(make_config: ConfigFactory, database_url: str,
                                                                    tmp_path: Path) -> None:
    path = write_module(tmp_path / "m", "broken.py", """
        import os

        SETTING = int(os.environ.get("NOT_SET_ANYWHERE", "not a number"))  # fails here

        def init_module(ctx, logger, nk, initializer):
            pass
    """)
    error = await load_error(make_config, database_url, tmp_path / "m")
    assert str(error).startswith(f"{path}:{line_of(path, 'fails here')}: import failed: ValueError: ")
    assert "Traceback (most recent call last)" in str(error)
    assert "invalid literal for int()" in str(error)


async def test_a_syntax_error_names_the_file_and_line(make_config: ConfigFactory, database_url: str,
                                                      tmp_path: Path) -> None:
    path = write_module(tmp_path / "m", "typo.py", """
        def init_module(ctx, logger, nk, initializer):
            initializer.register_rpc("x", )  (
    """)
    error = await load_error(make_config, database_url, tmp_path / "m")
    assert error.file == str(path)
    assert error.line == 2
    assert "SyntaxError" in str(error)


async def test_an_exception_in_init_module_names_the_file_and_line(make_config: ConfigFactory, database_url: str,
                                                                   tmp_path: Path) -> None:
    path = write_module(tmp_path / "m", "failing.py", """
        def configure(env):
            return int(env["cycle"])  # fails here

        async def init_module(ctx, logger, nk, initializer):
            configure(ctx.env)
    """)
    error = await load_error(make_config, database_url, tmp_path / "m")
    assert str(error).startswith(f"{path}:{line_of(path, 'fails here')}: init_module failed: KeyError: 'cycle'")
    assert "Traceback" in error.details


async def test_a_duplicate_rpc_id_names_both_registrations(make_config: ConfigFactory, database_url: str,
                                                            tmp_path: Path) -> None:
    first = write_module(tmp_path / "m", "one.py", """
        async def echo(ctx, logger, nk, payload):
            return payload

        def init_module(ctx, logger, nk, initializer):
            initializer.register_rpc("echo", echo)  # first
    """)
    second = write_module(tmp_path / "m", "two.py", """
        async def echo(ctx, logger, nk, payload):
            return payload

        def init_module(ctx, logger, nk, initializer):
            initializer.register_rpc("ECHO", echo)  # second
    """)
    error = await load_error(make_config, database_url, tmp_path / "m")
    assert str(error).startswith(f"{second}:{line_of(second, '# second')}: register_rpc('ECHO'): ")
    assert f"already registered at {first}:{line_of(first, '# first')}" in str(error)
    assert "case-insensitive" in str(error)


async def test_a_plain_function_handler_is_refused(make_config: ConfigFactory, database_url: str,
                                                   tmp_path: Path) -> None:
    path = write_module(tmp_path / "m", "sync.py", """
        def echo(ctx, logger, nk, payload):
            return payload

        def init_module(ctx, logger, nk, initializer):
            initializer.register_rpc("echo", echo)  # here
    """)
    error = await load_error(make_config, database_url, tmp_path / "m")
    assert str(error).startswith(f"{path}:{line_of(path, '# here')}: register_rpc('echo'): echo must be a "
                                 "coroutine function: write `async def echo(ctx, logger, nk, payload)`")


async def test_a_handler_with_the_wrong_signature_is_refused(make_config: ConfigFactory, database_url: str,
                                                             tmp_path: Path) -> None:
    path = write_module(tmp_path / "m", "sig.py", """
        async def echo(ctx, payload):
            return payload

        def init_module(ctx, logger, nk, initializer):
            initializer.register_rpc("echo", echo)  # here
    """)
    error = await load_error(make_config, database_url, tmp_path / "m")
    assert str(error).startswith(f"{path}:{line_of(path, '# here')}: register_rpc('echo'): echo must take "
                                 "(ctx, logger, nk, payload), but its signature is (ctx, payload)")


@pytest.mark.parametrize(("call", "expected"), [
    ('initializer.register_before("AuthenticateCusotm", hook)', "unknown method name"),
    ('initializer.register_after("GetAccount", hook)', "must take (ctx, logger, nk, reply, message)"),
    ('initializer.register_background_job("tidy", 0, job)', "interval_sec must be a positive number"),
    ('initializer.register_leaderboard_reset(job)', "must take (ctx, logger, nk, leaderboard, reset)"),
    ('initializer.register_rpc("", hook)', "the id must be a non-empty string"),
])
async def test_bad_registrations_name_the_line(make_config: ConfigFactory, database_url: str, tmp_path: Path,
                                               call: str, expected: str) -> None:
    path = write_module(tmp_path / "m", "hooks.py", f"""
        async def hook(ctx, logger, nk, message):
            return message

        async def job(ctx, logger, nk):
            pass

        def init_module(ctx, logger, nk, initializer):
            {call}  # here
    """)
    error = await load_error(make_config, database_url, tmp_path / "m")
    assert str(error).startswith(f"{path}:{line_of(path, '# here')}: ")
    assert expected in str(error)


async def test_init_module_with_the_wrong_signature_is_refused(make_config: ConfigFactory, database_url: str,
                                                               tmp_path: Path) -> None:
    path = write_module(tmp_path / "m", "old.py", """
        def init_module(initializer):  # here
            pass
    """)
    error = await load_error(make_config, database_url, tmp_path / "m")
    assert str(error).startswith(f"{path}:{line_of(path, '# here')}: init_module must take "
                                 "(ctx, logger, nk, initializer)")


async def test_a_module_named_like_an_installed_one_is_refused(make_config: ConfigFactory, database_url: str,
                                                               tmp_path: Path) -> None:
    path = write_module(tmp_path / "m", "asyncio.py", "def init_module(ctx, logger, nk, initializer):\n    pass\n")
    error = await load_error(make_config, database_url, tmp_path / "m")
    assert str(error).startswith(f"{path}:1: module name 'asyncio' clashes with an installed module")


async def test_the_initializer_stops_working_after_init_module(make_config: ConfigFactory, database_url: str,
                                                               tmp_path: Path) -> None:
    write_module(tmp_path / "m", "keeper.py", """
        KEPT = []

        async def late(ctx, logger, nk, payload):
            return ""

        def init_module(ctx, logger, nk, initializer):
            KEPT.append(initializer)
    """)
    state = await load(make_config, database_url, tmp_path / "m")
    try:
        import keeper  # type: ignore[import-not-found]

        with pytest.raises(Exception, match="only works inside init_module"):
            keeper.KEPT[0].register_rpc("late", keeper.late)
        assert state.runtime.rpc("late") is None
    finally:
        await state.close()


def test_a_failing_module_stops_the_server_with_its_traceback(tmp_path: Path, database_url: str) -> None:
    modules = tmp_path / "modules"
    write_module(modules, "a_good.py", """
        async def echo(ctx, logger, nk, payload):
            return payload

        def init_module(ctx, logger, nk, initializer):
            initializer.register_rpc("echo", echo)
    """)
    path = write_module(modules, "b_bad.py", """
        def init_module(ctx, logger, nk, initializer):
            raise RuntimeError("cannot start without the reward table")  # here
    """)
    with pytest.raises(RuntimeError, match="server exited") as caught:
        start_server(tmp_path, database_url, "--runtime.path", str(modules), timeout=60)
    output = str(caught.value)
    assert f"{path}:{line_of(path, '# here')}: init_module failed: RuntimeError: cannot start without the " \
           "reward table" in output
    assert "Traceback" in output


async def test_shutdown_functions_run_on_close_while_services_still_work(make_config: ConfigFactory,
                                                                         database_url: str, tmp_path: Path) -> None:
    import psycopg

    write_module(tmp_path / "m", "farewell.py", """
        async def first(ctx, logger, nk):
            await nk.storage_write([{"collection": "shutdown", "key": ctx.env["key"],
                                     "value": {"mode": ctx.execution_mode}}])

        async def broken(ctx, logger, nk):
            raise RuntimeError("a failing shutdown function does not stop the others")

        async def last(ctx, logger, nk):
            await nk.storage_write([{"collection": "shutdown", "key": ctx.env["key"] + "-last", "value": {}}])

        def init_module(ctx, logger, nk, initializer):
            initializer.register_shutdown(first)
            initializer.register_shutdown(broken)
            initializer.register_shutdown(last)
    """)
    key = tmp_path.name
    state = await build_state(make_config("--runtime.path", str(tmp_path / "m"), "--runtime.env", f"key={key}"),
                              database_url)
    await state.close()
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT key, value FROM storage WHERE collection = 'shutdown' AND key LIKE %s "
                            "ORDER BY key", (key + "%",)).fetchall()
    assert rows == [(key, {"mode": "shutdown"}), (key + "-last", {})]
