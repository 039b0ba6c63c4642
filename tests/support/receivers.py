"""A webhook receiver for the outgoing webhooks' tests: a real HTTP server on loopback, in a
thread, that keeps every request and answers as the test scripts it. It can go down (its
port refuses connections) and come back on the same port."""

import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .servers import free_port


class QuietServer(ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that drops its connection (the sender's pool closing) is no failure


@dataclass
class Received:
    headers: dict
    body: bytes

    @property
    def text(self):
        return self.body.decode()

    @property
    def webhook_id(self):
        return self.headers["webhook-id"]


class Receiver:
    """`answer(received)` gives each request's status code (200 unless scripted); `delay`
    seconds pass before each answer."""

    def __init__(self, answer=None, delay=0.0):
        self.port = free_port()
        self.answer = answer or (lambda received: 200)
        self.delay = delay
        self.received = []
        self._lock = threading.Lock()
        self._server = None
        self._connections = []

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the sender uses it

            def setup(self):
                super().setup()
                with receiver._lock:
                    receiver._connections.append(self.connection)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                received = Received({key.lower(): value for key, value in self.headers.items()}, body)
                with receiver._lock:
                    receiver.received.append(received)
                if receiver.delay:
                    time.sleep(receiver.delay)  # the receiver's own answer time, not synchronisation
                status = receiver.answer(received)
                reply = b"" if status in (204, 304) else b'{"ok": true}' if status < 300 else b'{"error": "scripted"}'
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self._server = QuietServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        """Down: the port refuses connections (open keep-alive connections are closed too)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self._lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # closed already
            connection.close()

    def ids(self):
        with self._lock:
            return [received.webhook_id for received in self.received]

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
