"""A Lazy Pirate server peer on pyzmq, independent of zkit: a REP socket that
echoes every request. Requests whose number (1-based) is listed after --drop
are "lost": the server closes its socket without answering and binds a fresh
one on the same endpoint, like a server that crashed and restarted.

usage: lpserver.py ENDPOINT [--drop 2,5]
"""
import sys
import time

import zmq

endpoint = sys.argv[1]
drop = set()
if len(sys.argv) > 3 and sys.argv[2] == "--drop":
    drop = {int(x) for x in sys.argv[3].split(",") if x}

ctx = zmq.Context()


def bind(ep):
    deadline = time.monotonic() + 10
    while True:
        sock = ctx.socket(zmq.REP)
        sock.setsockopt(zmq.LINGER, 0)
        try:
            sock.bind(ep)
            return sock
        except zmq.ZMQError:
            sock.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


server = bind(endpoint)
real = server.getsockopt(zmq.LAST_ENDPOINT).decode()
print("listening on", real, flush=True)
n = 0
while True:
    msg = server.recv_multipart()
    n += 1
    if n in drop:
        print("dropped request", n, msg[0].decode(errors="replace"), flush=True)
        server.close()
        server = bind(real)
        continue
    print("request", n, msg[0].decode(errors="replace"), flush=True)
    server.send_multipart(msg)
