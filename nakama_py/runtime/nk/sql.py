"""``nk.sql_*``: statements on the server's database, values passed as parameters only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from nakama_py.runtime.call_scope import tracked
from nakama_py.runtime.nk import inputs


class SqlDatabase(Protocol):
    """What ``sql_query``/``sql_exec`` run statements on (the server's connection pool)."""

    async def fetch_dicts(self, query: str, params: Sequence[Any] | dict[str, Any] | None = None,
                          ) -> list[dict[str, Any]]: ...

    async def execute(self, query: str, params: Sequence[Any] | dict[str, Any] | None = None) -> int: ...


class SqlCalls:
    _sql: SqlDatabase

    @tracked
    async def sql_query(self, query: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[dict[str, Any]]:
        """Rows as dicts. Values go in ``params`` only, with ``%s`` or ``%(name)s`` placeholders."""
        return await self._sql.fetch_dicts(query, inputs.sql_params(params))

    @tracked
    async def sql_exec(self, query: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> int:
        """Run one statement; the number of rows it touched."""
        return await self._sql.execute(query, inputs.sql_params(params))
