"""A TCP proxy that tests put between the app and a real server, to stage an outage.

The machine's PostgreSQL and Redis serve other people too, so a test never stops them: it
points the app at a ``TcpProxy`` on a loopback port that forwards to the real server, then

- ``cut()``: closes every connection through it and refuses new ones, as a server that
  restarts or goes away does (the client sees its connections closed, then "connection
  refused");
- ``hang()``: closes every connection, then accepts new ones and never answers, as a
  server or network that swallows packets does (only the client's timeouts end the wait);
- ``restore()``: forwards again, on the same port, so the app needs no restart.

One thread accepts; each forwarded connection has a thread per direction. Everything is on
127.0.0.1 and ends with ``close()`` (or the ``with`` block).
"""

import socket
import threading

FORWARD, CUT, HANG = "forward", "cut", "hang"
_POLL_SECONDS = 0.05


class TcpProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1"):
        self.target = (target_host, target_port)
        self.port = 0  # chosen by the system when the proxy first listens
        self._mode = FORWARD
        self._closed = False
        self._state = threading.Condition()
        self._listening = False
        self._sockets: set[socket.socket] = set()
        self._listener = self._listen()
        self._listening = True
        self._thread = threading.Thread(target=self._accept_loop, name="tcp-proxy", daemon=True)
        self._thread.start()

    # -- what a test calls ---------------------------------------------------------------------

    def cut(self) -> None:
        """Close every connection and refuse new ones (nothing listens on the port)."""
        self._switch(CUT)
        self._drop_connections()

    def hang(self) -> None:
        """Close every connection; accept new ones but never answer."""
        self._switch(HANG)
        self._drop_connections()

    def restore(self) -> None:
        """Forward again on the same port."""
        self._drop_connections()  # the silent connections of hang()
        self._switch(FORWARD)

    def close(self) -> None:
        with self._state:
            self._closed = True
            self._state.notify_all()
        self._thread.join(timeout=5)
        self._drop_connections()

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        self.close()

    # -- the threads -------------------------------------------------------------------------

    def _listen(self) -> socket.socket:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # The same port again after cut(): the connections the proxy closed wait in TIME_WAIT.
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(_POLL_SECONDS)
        self.port = listener.getsockname()[1]
        return listener

    def _switch(self, mode: str) -> None:
        """Set the mode and wait until the accepting thread has opened or closed the port."""
        with self._state:
            self._mode = mode
            self._state.notify_all()
            self._state.wait_for(lambda: self._listening == (mode != CUT), timeout=5)

    def _accept_loop(self) -> None:
        # Only this thread opens, closes and accepts on the listening socket, so a socket is
        # never closed under a thread that is waiting on it.
        listener = self._listener
        while True:
            with self._state:
                if self._closed:
                    break
                want = self._mode != CUT
                if want and listener is None:
                    listener = self._listen()
                elif not want and listener is not None:
                    listener.close()
                    listener = None
                self._listening = listener is not None
                self._state.notify_all()
                if listener is None:
                    self._state.wait(_POLL_SECONDS)
                    continue
            try:
                client, _address = listener.accept()
            except TimeoutError:
                continue
            self._serve(client)
        if listener is not None:
            listener.close()

    def _serve(self, client: socket.socket) -> None:
        client.settimeout(None)
        with self._state:
            mode = self._mode
        if mode == CUT:  # accepted just before the port closed
            client.close()
            return
        if mode == HANG:
            self._track(client)  # held open, never answered
            return
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            client.close()
            return
        upstream.settimeout(None)
        self._track(client, upstream)
        for source, sink in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pump, args=(source, sink), daemon=True,
                             name="tcp-proxy-pump").start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            # Either side closing ends both, as one TCP connection through a server would;
            # each direction's thread closes the socket it reads from.
            for sock in (source, sink):
                _shut(sock)
            with self._state:
                self._sockets.discard(source)
            source.close()

    def _track(self, *sockets: socket.socket) -> None:
        with self._state:
            self._sockets.update(sockets)

    def _drop_connections(self) -> None:
        with self._state:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            _shut(sock)  # wakes the pump threads blocked in recv(); they end by themselves
            sock.close()


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed or never connected
