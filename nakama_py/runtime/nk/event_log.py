"""``nk.event_log_*``: appending to the cluster's durable event logs (cluster/event_log.py), whose
entries the modules' consumers (``initializer.register_event_log_consumer``) handle in batches on
any node. Needs ``cluster.nats_url`` (the logs live in NATS JetStream)."""

from __future__ import annotations

from nakama_py.cluster.event_log import EventLog, EventLogUnavailable, LogAppend, check_log_name
from nakama_py.errors import Code, NakamaError
from nakama_py.runtime.call_scope import tracked

NO_EVENT_LOG = "the event log needs NATS JetStream: set cluster.nats_url"


class EventLogCalls:
    _event_log: EventLog | None

    def _log(self, log: str) -> EventLog:
        if self._event_log is None:
            raise NakamaError(NO_EVENT_LOG, Code.FAILED_PRECONDITION)
        try:
            check_log_name(log)
        except ValueError as exc:
            raise NakamaError(str(exc), Code.INVALID_ARGUMENT) from None
        return self._event_log

    def event_log_available(self) -> bool:
        """Whether this server has an event log (``cluster.nats_url`` is set)."""
        return self._event_log is not None

    @tracked
    async def event_log_append(self, log: str, data: bytes | str, msg_id: str) -> LogAppend:
        """Append ``data`` to ``log``, stored durably before this returns. A second append with the same
        ``msg_id`` within the log's duplicate window (5 minutes) stores nothing and says ``duplicate``.
        Raises code 14 (UNAVAILABLE) when NATS cannot take it: the caller may retry with the same id."""
        if not isinstance(msg_id, str) or not 1 <= len(msg_id) <= 256:
            raise NakamaError("expects a msg_id of 1 to 256 characters", Code.INVALID_ARGUMENT)
        event_log = self._log(log)
        try:
            return await event_log.append(log, data.encode() if isinstance(data, str) else bytes(data), msg_id)
        except EventLogUnavailable as exc:
            raise NakamaError(str(exc), Code.UNAVAILABLE) from None

    @tracked
    async def event_log_wait_applied(self, log: str, timeout: float) -> bool:
        """Wait until every entry appended to ``log`` before this call was handled by a consumer;
        False when ``timeout`` seconds passed first."""
        event_log = self._log(log)
        try:
            return await event_log.wait_applied(log, timeout)
        except EventLogUnavailable as exc:
            raise NakamaError(str(exc), Code.UNAVAILABLE) from None

    @tracked
    async def event_log_backlog(self, log: str) -> int:
        """Entries of ``log`` appended and not yet handled."""
        event_log = self._log(log)
        try:
            return await event_log.backlog(log)
        except EventLogUnavailable as exc:
            raise NakamaError(str(exc), Code.UNAVAILABLE) from None
