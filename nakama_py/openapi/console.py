"""The web console's routes (console.port) as a second OpenAPI document, docs/openapi-console.json.

The console is server-rendered HTML for operators, not an API for programs: pages answer text/html, changes
are HTML form posts carrying the session's CSRF token (``csrf`` field or ``X-CSRF-Token`` header) and answer
303 to the page to show next. Every route but /signin and /static/ needs the signed-in cookie (303 to
/signin otherwise)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nakama_py import __version__
from nakama_py.openapi.schema import STRING, Schema

HTML = "text/html"
FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Page:
    method: str
    path: str
    summary: str
    query: tuple[str, ...] = ()
    form: tuple[str, ...] = ()  # form fields besides csrf
    reply: str = HTML  # text/html, application/json, or "redirect" (303)
    public: bool = False


PAGES: tuple[Page, ...] = (
    Page("GET", "/", "Home: redirects to the Status page.", reply="redirect"),
    Page("GET", "/signin", "The sign-in form.", public=True),
    Page("POST", "/signin", "Sign in (rate limited per address).", form=("username", "password"), reply="redirect",
         public=True),
    Page("POST", "/signout", "Sign out.", reply="redirect"),
    Page("GET", "/status", "Processes, sessions, presences and sockets."),
    Page("GET", "/status.json", "The Status page's figures, polled by its chart.", reply="application/json"),
    Page("GET", "/accounts", "Find accounts by id, username, device, custom id or email.", query=("q",)),
    Page("GET", "/accounts/{user_id}", "One account."),
    Page("POST", "/accounts/{user_id}/profile", "Edit the profile.",
         form=("username", "display_name", "avatar_url", "lang_tag", "location", "timezone", "metadata"),
         reply="redirect"),
    Page("POST", "/accounts/{user_id}/wallet", "Apply a wallet changeset.", form=("changeset",), reply="redirect"),
    Page("POST", "/accounts/{user_id}/ban", "Ban the account.", reply="redirect"),
    Page("POST", "/accounts/{user_id}/unban", "Unban the account.", reply="redirect"),
    Page("POST", "/accounts/{user_id}/delete", "Delete the account (confirm with its username).",
         form=("confirm",), reply="redirect"),
    Page("GET", "/accounts/{user_id}/export", "Download the account's data as a JSON attachment.",
         reply="application/json"),
    Page("GET", "/users", "Console users."),
    Page("POST", "/users", "Add a console user.", form=("username", "password", "role", "email"), reply="redirect"),
    Page("POST", "/users/{username}/delete", "Delete a console user.", reply="redirect"),
    Page("GET", "/leaderboards", "Leaderboards and tournaments.", query=("cursor",)),
    Page("GET", "/leaderboards/{board_id}", "A board's records.", query=("cursor", "expiry")),
    Page("POST", "/leaderboards/{board_id}/records/{owner_id}/delete", "Delete a record.", reply="redirect"),
    Page("GET", "/storage", "Storage objects by collection and owner.", query=("collection", "user_id", "cursor")),
    Page("GET", "/storage/{collection}/{key}/{user_id}", "One storage object."),
    Page("POST", "/storage/{collection}/{key}/{user_id}", "Write a storage object (version-checked).",
         form=("value", "version", "permission_read", "permission_write"), reply="redirect"),
    Page("POST", "/storage/{collection}/{key}/{user_id}/delete", "Delete a storage object (version-checked).",
         form=("version",), reply="redirect"),
    Page("GET", "/config", "The running configuration, secrets masked."),
    Page("GET", "/runtime", "Loaded runtime modules, RPCs and hooks."),
    Page("GET", "/explorer", "The API explorer.", query=("rpc", "user")),
    Page("POST", "/explorer", "Call an RPC as a user.", form=("rpc", "route", "as_user", "payload")),
    Page("GET", "/racing", "Racing cycles."),
    Page("GET", "/racing/cycles/{cycle}", "One racing cycle."),
    Page("GET", "/static/{filename}", "The console's script and stylesheet.", reply="*/*", public=True),
)


def _operation(page: Page, method: str) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": STRING}
        for name in [part[1:-1] for part in page.path.split("/") if part.startswith("{")]]
    parameters += [{"name": name, "in": "query", "required": False, "schema": STRING} for name in page.query]
    responses: dict[str, Any]
    if page.reply == "redirect":
        responses = {"303": {"description": "Done: see the page named in Location."}}
    else:
        responses = {"200": {"description": page.summary, "content": {page.reply: {"schema": STRING}}}}
    responses["400"] = {"description": "A field is invalid (the page is shown again with the message).",
                        "content": {HTML: {"schema": STRING}}}
    if not page.public:
        responses["303"] = {"description": "Not signed in: redirected to /signin (or done, for a form)."}
        responses["403"] = {"description": "The operator's role may not do this, or the CSRF check failed.",
                            "content": {HTML: {"schema": STRING}}}
    responses["404"] = {"description": "No such object.", "content": {HTML: {"schema": STRING}}}
    operation: dict[str, Any] = {"summary": page.summary, "responses": responses,
                                 "security": [] if page.public else [{"consoleSession": []}]}
    if parameters:
        operation["parameters"] = parameters
    if method == "post":
        fields: dict[str, Schema] = {name: STRING for name in ("csrf", *page.form)}
        operation["requestBody"] = {"required": True, "content": {FORM: {"schema": {
            "type": "object", "properties": fields}}}}
        if page.public:
            del fields["csrf"]
    return operation


def console_document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for page in PAGES:
        item = paths.setdefault(page.path, {})
        method = page.method.lower()
        item[method] = _operation(page, method)
        if method == "get":
            item["head"] = {**_operation(page, "get"), "summary": "HEAD of " + page.path}
    return {
        "openapi": "3.1.0",
        "info": {"title": "nakama-py console", "version": __version__, "description": __doc__},
        "servers": [{"url": "http://127.0.0.1:7351", "description": "console.port"}],
        "paths": paths,
        "components": {"securitySchemes": {"consoleSession": {
            "type": "apiKey", "in": "cookie", "name": "nakama_py_console",
            "description": "The signed session cookie set by POST /signin."}}},
    }
