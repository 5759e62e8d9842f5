"""One audit log line for every change made through the console: who, what, on what."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("nakama_py.console.audit")


def audit(actor: str, action: str, **target: Any) -> None:
    log.info(f"console: {action}", extra={"fields": {"audit": "console", "actor": actor, "action": action,
                                                      **target}})
