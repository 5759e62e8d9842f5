"""Finding and importing the runtime modules in ``runtime.path``, and calling their ``init_module``.

Every ``*.py`` file and every package (a directory with ``__init__.py``) whose name
does not start with ``_`` or ``.`` is a module, imported in name order. The
directory is added to the end of ``sys.path`` so modules can import shared helpers
from it; a module named like an installed one is refused. A module that fails
(syntax error, exception while importing or in ``init_module``, a bad registration)
stops the load with a ``RuntimeLoadError`` whose message names the file and line and
carries the traceback.
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import sys
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from nakama_py.runtime.call_scope import CURRENT, CallScope, finish
from nakama_py.runtime.initializer import Initializer, RegistrationError
from nakama_py.runtime.registry import Registry

InitArgs = Callable[[str, Initializer], tuple[Any, Any, Any]]

_RUNTIME_DIR = str(Path(__file__).resolve().parent)

# The runtime directories this process loaded from (on sys.path), newest first.
_DIRECTORIES: list[str] = []


class RuntimeLoadError(Exception):
    """A runtime module could not be loaded; ``str()`` starts with ``file:line:``."""

    def __init__(self, file: str, line: int, message: str, details: str = "") -> None:
        text = f"{file}:{line}: {message}"
        super().__init__(f"{text}\n{details}" if details else text)
        self.file = file
        self.line = line
        self.summary = text
        self.details = details


@dataclass(frozen=True)
class ModuleSource:
    name: str
    path: Path          # the .py file, or the package's __init__.py
    root: Path          # the file, or the package directory (frames inside it belong to the module)


def discover(directory: Path) -> list[ModuleSource]:
    """The modules in ``directory``, in a deterministic (name) order."""
    found: list[ModuleSource] = []
    for entry in sorted(directory.iterdir(), key=lambda p: p.name):
        if entry.name.startswith(("_", ".")):
            continue
        if entry.is_file() and entry.suffix == ".py" and entry.stem.isidentifier():
            found.append(ModuleSource(entry.stem, entry, entry))
        elif entry.is_dir() and entry.name.isidentifier() and (entry / "__init__.py").is_file():
            found.append(ModuleSource(entry.name, entry / "__init__.py", entry))
    return found


def _within(filename: str, root: Path) -> bool:
    try:
        Path(filename).resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def _module_traceback(exc: BaseException) -> str:
    """The traceback from the module's first frame on (the loader's own frames say nothing)."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None and tb.tb_frame.f_code.co_filename.startswith(
            (_RUNTIME_DIR, "<frozen importlib")):
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))


def _failure(source: ModuleSource, exc: BaseException, stage: str, fallback_line: int = 1) -> RuntimeLoadError:
    """A load error pointing at the module's own line nearest to where ``exc`` was raised."""
    details = _module_traceback(exc)
    if isinstance(exc, RegistrationError):
        return RuntimeLoadError(exc.origin.file, exc.origin.line, exc.message, details)
    if isinstance(exc, SyntaxError) and exc.filename and _within(exc.filename, source.root):
        return RuntimeLoadError(exc.filename, exc.lineno or 1, f"{stage}: SyntaxError: {exc.msg}", details)
    file, line = str(source.path), fallback_line
    for frame in traceback.extract_tb(exc.__traceback__):
        if _within(frame.filename, source.root):
            file, line = frame.filename, frame.lineno or fallback_line
    return RuntimeLoadError(file, line, f"{stage}: {type(exc).__name__}: {exc}", details)


def _same_file(module: ModuleType, path: Path) -> bool:
    filename = getattr(module, "__file__", None)
    return filename is not None and Path(filename).resolve() == path.resolve()


def _clash(source: ModuleSource, other: str) -> None:
    raise RuntimeLoadError(str(source.path), 1, f"module name {source.name!r} clashes with an installed module "
                                                f"({other}); rename the file")


def _import(source: ModuleSource) -> ModuleType:
    existing = sys.modules.get(source.name)
    if existing is not None:
        if _same_file(existing, source.path):
            return existing  # a module loaded earlier imported it already
        _clash(source, getattr(existing, "__file__", None) or "built-in")
    found = importlib.util.find_spec(source.name)
    if found is not None and (found.origin is None or Path(found.origin).resolve() != source.path.resolve()):
        _clash(source, found.origin or "built-in")
    search = [str(source.root)] if source.path.name == "__init__.py" else None
    spec = importlib.util.spec_from_file_location(source.name, source.path, submodule_search_locations=search)
    if spec is None or spec.loader is None:
        raise RuntimeLoadError(str(source.path), 1, "cannot be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[source.name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:
        sys.modules.pop(source.name, None)
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        raise _failure(source, exc, "import failed") from exc
    return module


def _forget_previous_loads() -> None:
    """A new load imports fresh: drop the modules a previous load (another state) left behind."""
    for directory in _DIRECTORIES:
        for name, module in list(sys.modules.items()):
            filename = getattr(module, "__file__", None)
            if filename and filename.startswith(directory + "/"):
                del sys.modules[name]
        with contextlib.suppress(ValueError):
            sys.path.remove(directory)
    _DIRECTORIES.clear()


def _prepare(directory: Path) -> list[ModuleSource]:
    """The modules to load, with their directory on ``sys.path``; none when it is no directory."""
    if not directory.is_dir():
        return []
    directory = directory.resolve()
    sources = discover(directory)
    _forget_previous_loads()
    path_entry = str(directory)
    sys.path.append(path_entry)  # last: a module never hides an installed one of the same name
    _DIRECTORIES.append(path_entry)
    return sources


async def load_modules(directory: Path, init_args: InitArgs) -> Registry:
    """Import every module and run its ``init_module``; the registry is complete or an error is raised.

    ``init_args(module_name, initializer)`` gives the ``(ctx, logger, nk)`` passed to ``init_module``.
    """
    registry = Registry()
    for source in _prepare(directory):
        module = _import(source)
        registry.modules.append(source.name)
        init = getattr(module, "init_module", None)
        if init is None:
            continue  # a helper that other modules import
        line = getattr(getattr(init, "__code__", None), "co_firstlineno", 1)
        if not callable(init):
            raise RuntimeLoadError(str(source.path), line, "init_module must be a function")
        try:
            inspect.signature(init).bind("ctx", "logger", "nk", "initializer")
        except TypeError:
            raise RuntimeLoadError(str(source.path), line, "init_module must take (ctx, logger, nk, initializer), "
                                                           f"but its signature is {inspect.signature(init)}") from None
        initializer = Initializer(registry, source.name)
        ctx, logger, nk = init_args(source.name, initializer)
        token = CURRENT.set(scope := CallScope("init_module of", source.name))
        try:
            result = init(ctx, logger, nk, initializer)
            if inspect.isawaitable(result):
                await _await(result)
            finish(scope)
        except RuntimeLoadError:
            raise
        except Exception as exc:
            raise _failure(source, exc, "init_module failed", line) from exc
        finally:
            CURRENT.reset(token)
            initializer.close()
    return registry


async def _await(awaitable: Awaitable[Any]) -> None:
    await awaitable
