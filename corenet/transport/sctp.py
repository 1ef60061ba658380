"""SCTP transport (RFC 9260) for S1AP (TS 36.412 §7) and Diameter (RFC 6733 §2.1).

Kernel SCTP through pysctp when the host supports it: one-to-one style sockets (RFC 6458 §4)
with sctp_send/sctp_recv carrying the PPID and stream of each user message. Otherwise the
non-standard TCP fallback of `corenet.transport.fallback`. `mode` picks: "auto" (kernel if
available), "kernel" (fail if not) or "fallback".
"""

from __future__ import annotations

import asyncio
import errno
import functools
import socket
from collections import deque
from typing import Any, Literal

from corenet.transport.base import (
    Address,
    BindError,
    ClosingContext,
    Direction,
    OnClose,
    OnConnect,
    OnError,
    OnMessage,
    Tap,
    call_back,
    log,
    sockname,
    tap_call,
)
from corenet.transport.fallback import (
    DEFAULT_MAX_MESSAGE,
    open_fallback_client,
    open_fallback_server,
)
from corenet.transport.stream import Acceptor, Callbacks, MessageServer, StreamConnection

Mode = Literal["auto", "kernel", "fallback"]


@functools.cache
def kernel_sctp_status() -> tuple[bool, str]:
    """(available, reason): try a one-to-one SCTP socket and the pysctp module."""
    try:
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SCTP)
    except OSError as exc:
        return False, f"no kernel SCTP ({exc})"
    probe.close()
    try:
        import sctp  # noqa: F401
    except ImportError as exc:
        return False, f"pysctp not importable ({exc})"
    return True, "kernel SCTP via pysctp"


@functools.cache
def _announce(use_kernel: bool, reason: str) -> None:
    if use_kernel:
        log.info("SCTP transport: kernel SCTP (pysctp, one-to-one sockets)")
    else:
        log.info("SCTP transport: fallback TCP with non-standard length/PPID/stream framing "
                 "(%s); captures still show SCTP", reason)


def _use_kernel(mode: Mode) -> bool:
    available, reason = kernel_sctp_status()
    if mode == "kernel" and not available:
        raise OSError(errno.EPROTONOSUPPORT, f"kernel SCTP requested: {reason}")
    use = mode == "kernel" or (mode == "auto" and available)
    _announce(use, reason)
    return use


async def open_sctp_server(
    host: str,
    port: int,
    on_message: OnMessage,
    on_connect: OnConnect | None = None,
    on_close: OnClose | None = None,
    *,
    on_error: OnError | None = None,
    tap: Tap | None = None,
    mode: Mode = "auto",
    max_message: int = DEFAULT_MAX_MESSAGE,
) -> MessageServer | KernelSctpServer:
    """Listen for SCTP associations; on_message(conn, payload, ppid, stream) per user message."""
    callbacks = Callbacks(on_message, on_connect, on_close, on_error, tap)
    if _use_kernel(mode):
        return await KernelSctpServer.listen(host, port, callbacks, max_message)
    return await open_fallback_server(host, port, callbacks, max_message)


async def open_sctp_client(
    host: str,
    port: int,
    on_message: OnMessage,
    on_connect: OnConnect | None = None,
    on_close: OnClose | None = None,
    *,
    on_error: OnError | None = None,
    tap: Tap | None = None,
    mode: Mode = "auto",
    max_message: int = DEFAULT_MAX_MESSAGE,
    local_host: str | None = None,
) -> StreamConnection | KernelSctpConnection:
    """Open one SCTP association to host:port, from `local_host` (any port) when given."""
    callbacks = Callbacks(on_message, on_connect, on_close, on_error, tap)
    if _use_kernel(mode):
        return await KernelSctpConnection.connect(host, port, callbacks, max_message,
                                                  local_host=local_host)
    return await open_fallback_client(host, port, callbacks, max_message,
                                      local_host=local_host)


# -- kernel SCTP (pysctp) ------------------------------------------------------------------


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


class KernelSctpConnection:
    """One association on a one-to-one pysctp socket, driven by the event loop's reader."""

    def __init__(self, sk: Any, callbacks: Callbacks, max_message: int) -> None:
        import sctp

        self._sctp = sctp
        self._sk = sk
        self._cb = callbacks
        self._max = max_message
        self._loop = asyncio.get_running_loop()
        self._partial = bytearray()
        self._pending: deque[tuple[bytes, int, int]] = deque()
        self._closed = False
        # RFC 6458 §6.2.1: only data (with its sndrcvinfo) comes out of sctp_recv.
        sk.events.clear()
        sk._sk.setblocking(False)
        self._local = sockname(sk._sk.getsockname())
        self._remote = sockname(sk._sk.getpeername())
        self._loop.add_reader(sk._sk.fileno(), self._readable)
        call_back(callbacks.on_connect, self)

    @classmethod
    async def connect(
        cls, host: str, port: int, callbacks: Callbacks, max_message: int,
        local_host: str | None = None,
    ) -> KernelSctpConnection:
        import sctp

        sk = sctp.sctpsocket_tcp(_family(host))
        if local_host is not None:
            sk.bind((local_host, 0))
        sk._sk.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sk._sk, (host, port))
        return cls(sk, callbacks, max_message)

    @property
    def local(self) -> Address:
        return self._local

    @property
    def remote(self) -> Address:
        return self._remote

    @property
    def closed(self) -> bool:
        return self._closed

    def send(self, payload: bytes, ppid: int = 0, stream: int = 0) -> None:
        if self._closed:
            raise ConnectionError(f"association {self._local} -> {self._remote} is closed")
        tap_call(self._cb.tap, Direction.SENT, self._local, self._remote, payload, ppid, stream)
        self._pending.append((payload, ppid, stream))
        self._flush()

    def _flush(self) -> None:
        while self._pending:
            payload, ppid, stream = self._pending[0]
            try:
                # pysctp byte-swaps the PPID itself (ntohl) before the kernel copies it verbatim.
                self._sk.sctp_send(payload, ppid=ppid, stream=stream)
            except BlockingIOError:
                self._loop.add_writer(self._sk._sk.fileno(), self._writable)
                return
            except OSError as exc:
                log.warning("SCTP send to %s failed: %s", self._remote, exc)
                self.close()
                return
            self._pending.popleft()

    def _writable(self) -> None:
        self._loop.remove_writer(self._sk._sk.fileno())
        self._flush()

    def _readable(self) -> None:
        try:
            _, flags, msg, info = self._sk.sctp_recv(self._max + 1)
        except BlockingIOError:
            return
        except OSError as exc:
            log.warning("SCTP association %s -> %s lost: %s", self._remote, self._local, exc)
            self.close()
            return
        if flags & self._sctp.FLAG_NOTIFICATION:
            return
        if not msg:  # RFC 6458 §4.1.4: zero-length read = association shut down
            self.close()
            return
        self._partial += msg
        if len(self._partial) > self._max:
            log.warning("SCTP message from %s exceeds %d octets; closing", self._remote, self._max)
            self.close()
            return
        if not flags & self._sctp.FLAG_EOR:
            return  # partial delivery: more of this message follows
        payload = bytes(self._partial)
        self._partial.clear()
        # sinfo_ppid is returned as the raw network-order field.
        ppid = socket.ntohl(int(getattr(info, "ppid", 0)))
        stream = int(getattr(info, "stream", 0))
        tap_call(self._cb.tap, Direction.RECEIVED, self._remote, self._local, payload, ppid, stream)
        call_back(self._cb.on_message, self, payload, ppid, stream)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        fd = self._sk._sk.fileno()
        if fd >= 0:
            self._loop.remove_reader(fd)
            self._loop.remove_writer(fd)
        self._sk.close()
        call_back(self._cb.on_close, self)


class KernelSctpServer(ClosingContext):
    """A listening one-to-one SCTP socket; each accepted association is a KernelSctpConnection."""

    def __init__(self, sk: Any, callbacks: Callbacks, max_message: int) -> None:
        self._sk = sk
        self._cb = callbacks
        self._max = max_message
        self._loop = asyncio.get_running_loop()
        self.connections: set[KernelSctpConnection] = set()
        self._closed = asyncio.Event()
        local = self.local
        self._acceptor: Acceptor[tuple[Any, Any]] = Acceptor(
            sk._sk.fileno(), sk.accept, self._accepted, f"SCTP server {local[0]}:{local[1]}")

    @classmethod
    async def listen(
        cls, host: str, port: int, callbacks: Callbacks, max_message: int
    ) -> KernelSctpServer:
        import sctp

        sk = sctp.sctpsocket_tcp(_family(host))
        sk._sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sk.bind((host, port))
        except OSError as exc:
            sk._sk.close()
            raise BindError(host, port, exc) from exc
        sk.listen(64)
        sk._sk.setblocking(False)
        return cls(sk, callbacks, max_message)

    @property
    def local(self) -> Address:
        return sockname(self._sk._sk.getsockname())

    def _accepted(self, accepted: tuple[Any, Any]) -> None:
        conn_sk = accepted[0]

        def on_close(conn: KernelSctpConnection) -> None:
            self.connections.discard(conn)
            call_back(self._cb.on_close, conn)

        tracked = Callbacks(self._cb.on_message, self._cb.on_connect, on_close,
                            self._cb.on_error, self._cb.tap)
        self.connections.add(KernelSctpConnection(conn_sk, tracked, self._max))

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._acceptor.close()
        self._sk.close()
        for conn in list(self.connections):
            conn.close()
        self._closed.set()

    async def wait_closed(self) -> None:
        await self._closed.wait()

