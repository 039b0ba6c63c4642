"""The one module that speaks HTTP to receivers: a POST with short timeouts, over
keep-alive connections made only to addresses checked just before (safety.py), answers
read up to RESPONSE_BODY_BYTES. Every outcome is a `Sent`; nothing here raises."""

import threading
import time
from dataclasses import dataclass

import httpcore
import httpx

from . import safety

CONNECT_SECONDS = 3.0
TOTAL_SECONDS = 10.0
RESPONSE_BODY_BYTES = 2048
KEEPALIVE_SECONDS = 30.0


@dataclass
class Sent:
    """What came of one POST. `endpoint_down` says the failure concerns the endpoint as a
    whole (no connection, a timeout, 408, 429, a 5xx), not this event."""

    status: int | None = None
    elapsed_ms: int = 0
    body: str = ""
    error: str = ""

    @property
    def ok(self):
        return self.status is not None and 200 <= self.status < 300

    @property
    def endpoint_down(self):
        return not self.ok and (self.status is None or self.status in (408, 429) or self.status >= 500)


class CheckedBackend(httpcore.SyncBackend):
    """Resolves the host itself, refuses it unless every address is allowed, and connects
    to a checked address: a name cannot resolve to one address for the check and another
    for the connection."""

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        error = None
        for address in safety.resolve(host, port):
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as failure:
                error = failure
        raise error or httpcore.ConnectError(f"{host} has no address")


class CheckedTransport(httpx.HTTPTransport):
    def __init__(self, max_connections):
        super().__init__(trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=KEEPALIVE_SECONDS,
            network_backend=CheckedBackend(),
        )


_clients = {}
_clients_lock = threading.Lock()


def client_for(endpoint_id, max_connections):
    """This process's client of an endpoint (its keep-alive connections are its own, so a
    slow endpoint never holds connections another one needs)."""
    with _clients_lock:
        client = _clients.get(endpoint_id)
        if client is None:
            client = _clients[endpoint_id] = httpx.Client(
                transport=CheckedTransport(max_connections),
                timeout=httpx.Timeout(TOTAL_SECONDS, connect=CONNECT_SECONDS, pool=TOTAL_SECONDS),
                follow_redirects=False,
                trust_env=False,
            )
        return client


def post(client, url, body, headers):
    """One POST; a kept-alive connection the receiver closed meanwhile is tried once more on a
    new one (the receiver may then see the event twice: delivery is at least once)."""
    try:
        return _post(client, url, body, headers)
    except httpx.RemoteProtocolError:
        return _post(client, url, body, headers, again=True)


def _post(client, url, body, headers, again=False):
    started = time.monotonic()
    try:
        safety.check_url(url)
        with client.stream("POST", url, content=body.encode(), headers=headers) as response:
            kept = b""
            for chunk in response.iter_raw():
                kept += chunk
                if len(kept) >= RESPONSE_BODY_BYTES or time.monotonic() - started > TOTAL_SECONDS:
                    break
            return Sent(
                status=response.status_code,
                elapsed_ms=_ms(started),
                body=kept[:RESPONSE_BODY_BYTES].decode("utf-8", "replace"),
            )
    except safety.UnsafeURL as error:
        return Sent(elapsed_ms=_ms(started), error=f"Refused: {error}")
    except httpx.RemoteProtocolError as error:
        if not again:
            raise
        return Sent(elapsed_ms=_ms(started), error=f"The connection broke: {error}"[:300])
    except httpx.TimeoutException:
        return Sent(elapsed_ms=_ms(started), error="No answer in time (timed out).")
    except httpx.HTTPError as error:
        return Sent(elapsed_ms=_ms(started), error=f"Could not connect: {error or type(error).__name__}"[:300])


def _ms(started):
    return int((time.monotonic() - started) * 1000)
