"""A raw HTTP receiver on loopback whose answers a test scripts byte by byte
(slowly, hugely, or half-way), for the real sender and fetcher."""
import socket
import threading
import time


class RawServer:
    """A TCP server on loopback whose every connection runs ``answer(conn, request)``;
    it records the requests it read and the bytes it managed to send."""

    def __init__(self, answer):
        self.answer = answer
        self.requests, self.sent = [], 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.stopped = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while not self.stopped.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn):
        with conn:
            conn.settimeout(10)
            data = b""
            try:
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                head, _, rest = data.partition(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                while len(rest) < length:
                    rest += conn.recv(65536)
                self.requests.append((head.decode("latin-1"), rest))
                self.answer(self, conn)
            except OSError:
                pass

    def send(self, conn, data: bytes):
        conn.sendall(data)
        self.sent += len(data)

    def url(self, host="127.0.0.1", path="/hook"):
        return f"http://{host}:{self.port}{path}"

    def stop(self):
        self.stopped.set()
        self.listener.close()


def trickling(interval_s: float, for_s: float):
    """A receiver that sends its status line, then one header byte every ``interval_s``."""
    def answer(server, conn):
        server.send(conn, b"HTTP/1.1 200 OK\r\nX-Slow: ")
        end = time.monotonic() + for_s
        while time.monotonic() < end and not server.stopped.is_set():
            server.send(conn, b"z")
            time.sleep(interval_s)
        server.send(conn, b"\r\nContent-Length: 0\r\n\r\n")
    return answer
