"""The matchmaker's errors, with the messages of Nakama's runtime errors (a party's
``party_matchmaker_add`` shows them to the client as "Error adding party to matchmaker: <message>")."""

from __future__ import annotations

from nakama_py.errors import Code, NakamaError


class MatchmakerError(NakamaError):
    """A ticket could not be added or removed."""


class MatchmakerQueryInvalid(MatchmakerError):
    def __init__(self) -> None:
        super().__init__("matchmaker query invalid", Code.INVALID_ARGUMENT)


class MatchmakerDuplicateSession(MatchmakerError):
    def __init__(self) -> None:
        super().__init__("matchmaker duplicate session", Code.INVALID_ARGUMENT)


class MatchmakerTooManyTickets(MatchmakerError):
    def __init__(self) -> None:
        super().__init__("matchmaker too many tickets", Code.RESOURCE_EXHAUSTED)


class MatchmakerTicketNotFound(MatchmakerError):
    def __init__(self) -> None:
        super().__init__("matchmaker ticket not found", Code.NOT_FOUND)


class MatchmakerNotAvailable(MatchmakerError):
    def __init__(self) -> None:
        super().__init__("matchmaker not available", Code.UNAVAILABLE)
