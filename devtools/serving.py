"""Serving the development tools in-process: a listening socket bound before the server starts,
so a caller asking for port 0 learns the real port at once."""

from __future__ import annotations

import socket


def bound_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock
