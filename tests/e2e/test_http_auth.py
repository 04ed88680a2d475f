"""Who may call the controller's HTTP API, against real controller processes: a bearer token
(or the browser cookie POST /login sets), mutual TLS with the stackferry CA, and the
same-origin check on requests that change state."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from http_world import HttpController, launch_http_controller
from tlsutil import CertAuthority, Identity

API = "/api/v1/migrations"
TOKEN = "s3cret-token-for-tests"


@pytest.fixture
def token_controller(tmp_path: Path) -> Iterator[HttpController]:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    controller = launch_http_controller(tmp_path, "--http-token-file", str(token_file))
    yield controller
    controller.stop()


def test_without_the_token_a_request_gets_401(token_controller: HttpController) -> None:
    with httpx.Client(base_url=token_controller.url) as client:
        bare = client.get(API)
        assert bare.status_code == 401
        assert bare.json()["code"] == "unauthenticated"
        wrong = client.get(API, headers={"Authorization": "Bearer not-it"})
        assert wrong.status_code == 401
        assert client.get("/api/v1/openapi.json").status_code == 401
        page = client.get("/")
        assert page.status_code == 401 and 'name="token"' in page.text

        good = {"Authorization": f"Bearer {TOKEN}"}
        assert client.get(API, headers=good).json() == {"migrations": [], "next_page_token": ""}


def test_the_login_cookie_lets_a_browser_in(token_controller: HttpController) -> None:
    with httpx.Client(base_url=token_controller.url) as client:
        refused = client.post("/login", data={"token": "guess"})
        assert refused.status_code == 401 and "stackferry_token" not in refused.cookies
        login = client.post("/login", data={"token": TOKEN})
        assert login.status_code == 303 and login.headers["location"] == "/"
        assert "httponly" in login.headers["set-cookie"].lower()
        assert "samesite=strict" in login.headers["set-cookie"].lower()
        # The client keeps the cookie, as a browser does.
        assert client.get(API).status_code == 200
        page = client.get("/")
        assert page.status_code == 200
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


def test_a_cross_site_request_may_not_change_state(token_controller: HttpController) -> None:
    good = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=token_controller.url, headers=good) as client:
        foreign = client.post(API, json={}, headers={"Origin": "http://evil.example"})
        assert foreign.status_code == 403 and foreign.json()["code"] == "cross_origin"
        fetched = client.post(API, json={}, headers={"Sec-Fetch-Site": "cross-site"})
        assert fetched.status_code == 403
        # From the controller's own origin the request reaches the API (and lacks fields).
        own = client.post(API, json={}, headers={"Origin": token_controller.url})
        assert own.status_code == 422 and own.json()["field"] == "name"
        # Reading is not guarded by origin: a cross-site GET cannot read the reply anyway.
        assert client.get(API, headers={"Origin": "http://evil.example"}).status_code == 200


def tls_client(url: str, ca: Path, identity: Identity | None) -> httpx.Client:
    context = ssl.create_default_context(cafile=str(ca))
    if identity is not None:
        context.load_cert_chain(identity.cert, identity.key)
    return httpx.Client(base_url=url, verify=context, timeout=10)


def handshake_error(url: str, ca: Path, identity: Identity | None) -> str | None:
    """None when a TLS handshake with `identity` completes, else the error that ended it.

    TLS 1.2, so that the server's verdict on the client's certificate ends the handshake
    itself (TLS 1.3 sends it after the client has finished its side)."""
    host, port = url.removeprefix("https://").rsplit(":", 1)
    context = ssl.create_default_context(cafile=str(ca))
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    if identity is not None:
        context.load_cert_chain(identity.cert, identity.key)
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        try:
            context.wrap_socket(raw, server_hostname=host).close()  # runs the handshake
        except (ssl.SSLError, ConnectionResetError) as exc:
            return str(exc) or type(exc).__name__
    return None


def assert_refused(url: str, ca: Path, identity: Identity | None) -> None:
    """Refused in the handshake; and with TLS 1.3 (httpx) no HTTP answer comes either."""
    assert handshake_error(url, ca, identity) is not None
    with (
        tls_client(url, ca, identity) as client,
        pytest.raises((httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)),
    ):
        client.get(API)


@pytest.fixture
def pki(tmp_path: Path) -> tuple[CertAuthority, CertAuthority]:
    return CertAuthority(tmp_path / "ours"), CertAuthority(tmp_path / "theirs", "foreign-ca")


def tls_flags(ca: CertAuthority) -> list[str]:
    server = ca.issue("controller")
    return ["--tls-cert", str(server.cert), "--tls-key", str(server.key), "--tls-ca", str(ca.path)]


def test_mutual_tls_refuses_a_foreign_certificate_at_the_handshake(
    tmp_path: Path, pki: tuple[CertAuthority, CertAuthority]
) -> None:
    ours, theirs = pki
    controller = launch_http_controller(tmp_path, *tls_flags(ours), insecure=False)
    try:
        assert controller.url.startswith("https://")
        browser = ours.issue("browser")
        assert handshake_error(controller.url, ours.path, browser) is None
        with tls_client(controller.url, ours.path, browser) as client:
            assert client.get(API).status_code == 200
        assert_refused(controller.url, ours.path, theirs.issue("intruder"))
        assert_refused(controller.url, ours.path, None)
    finally:
        controller.stop()


def test_a_token_admits_a_browser_without_a_client_certificate(
    tmp_path: Path, pki: tuple[CertAuthority, CertAuthority]
) -> None:
    ours, theirs = pki
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    flags = [*tls_flags(ours), "--http-token-file", str(token_file)]
    controller = launch_http_controller(tmp_path, *flags, insecure=False)
    try:
        with tls_client(controller.url, ours.path, None) as client:
            assert client.get(API).status_code == 401
            assert client.get(API, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        # A certificate of another CA is still refused before any token is read.
        assert handshake_error(controller.url, ours.path, None) is None
        assert_refused(controller.url, ours.path, theirs.issue("intruder"))
    finally:
        controller.stop()
