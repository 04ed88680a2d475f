"""Who may call the HTTP API: the same trust model as gRPC.

Mutual TLS is checked by the TLS handshake itself (http/server.py). With http_token_file, every
request must also carry the token: `Authorization: Bearer TOKEN`, or the cookie that
POST /login sets for a browser (EventSource cannot send headers). A request that changes state
from a browser must come from this very origin, so another site cannot make a logged-in
browser start or cancel migrations.
"""

from __future__ import annotations

import hmac
from urllib.parse import parse_qs

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from stackferry.controller.http import shapes

COOKIE = "stackferry_token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
# Inline styles: the page is shown before the browser may fetch anything else.
LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>stackferry: sign in</title>
<style>body{font-family:system-ui,sans-serif;background:#f6f7f9;color:#1d2330}
main{max-width:24em;margin:4em auto}form{display:flex;flex-direction:column;gap:.6em}
input,button{padding:.4em;font-size:1em}</style></head>
<body><main><h1>stackferry</h1>
<p>This controller asks for its API token (the file named by <code>http_token_file</code>).</p>
<form method="post" action="/login">
<label>Token <input id="token" name="token" type="password" autocomplete="off" required></label>
<button id="sign-in" type="submit">Sign in</button></form></main></body></html>
"""


def read_token(path: str) -> str:
    token = open(path, encoding="utf-8").read().strip()  # noqa: SIM115 - read once at start
    if not token:
        raise ValueError(f"http_token_file {path} is empty")
    return token


def _deny(status: int, code: str, message: str, html: bool) -> Response:
    if html and status == 401:
        return HTMLResponse(LOGIN_PAGE, status_code=401)
    return JSONResponse(shapes.Error(code=code, message=message).model_dump(), status_code=status)


class Guard:
    """ASGI middleware: the token (when configured) and the same-origin check."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token

    def _has_token(self, headers: Headers) -> bool:
        assert self.token is not None
        given = ""
        authorization = headers.get("authorization", "")
        if authorization.lower().startswith("bearer "):
            given = authorization[7:].strip()
        else:
            for part in headers.get("cookie", "").split(";"):
                name, _, value = part.strip().partition("=")
                if name == COOKIE:
                    given = value
        return hmac.compare_digest(given.encode(), self.token.encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        headers = request.headers
        denied = self._check_origin(request)
        if denied is None and scope["path"] == "/login" and self.token is not None:
            response = await self._login(request)
            await response(scope, receive, send)
            return
        if denied is None and self.token is not None and not self._has_token(headers):
            denied = _deny(
                401,
                "unauthenticated",
                "this controller needs its API token: Authorization: Bearer TOKEN",
                html=not scope["path"].startswith("/api/"),
            )
        if denied is not None:
            await denied(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _check_origin(self, request: Request) -> Response | None:
        if request.method in SAFE_METHODS:
            return None
        origin = request.headers.get("origin")
        own = f"{request.url.scheme}://{request.headers.get('host', '')}"
        cross = request.headers.get("sec-fetch-site") == "cross-site"
        if cross or (origin is not None and origin != own):
            return _deny(
                403,
                "cross_origin",
                f"a request from {origin or 'another site'} may not change migrations here",
                html=False,
            )
        return None

    async def _login(self, request: Request) -> Response:
        assert self.token is not None
        if request.method != "POST":
            return HTMLResponse(LOGIN_PAGE)
        given = parse_qs((await request.body()).decode(errors="replace")).get("token", [""])[0]
        if not hmac.compare_digest(given.strip().encode(), self.token.encode()):
            return _deny(401, "unauthenticated", "wrong token", html=True)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(
            COOKIE,
            self.token,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response
