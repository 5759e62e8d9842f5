"""Imports the repository's racing module (runtime_modules/racing) as the runtime loads it: a package."""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

from tests.support.server import REPO

MODULES_DIR = REPO / "runtime_modules"


def racing(submodule: str) -> ModuleType:
    if str(MODULES_DIR) not in sys.path:
        sys.path.insert(0, str(MODULES_DIR))
    return importlib.import_module(f"racing.{submodule}")
