"""A Simple Pirate worker peer on pyzmq, independent of zkit: a REQ socket
that sends READY (0x01), then echoes every request [client][""][body...]
with its envelope, prefixing the body with the word "py".

usage: spworker.py BACKEND_ENDPOINT
"""
import sys

import zmq

ctx = zmq.Context()
worker = ctx.socket(zmq.REQ)
worker.setsockopt(zmq.LINGER, 0)
worker.connect(sys.argv[1])
worker.send(b"\x01")
print("ready", flush=True)
while True:
    msg = worker.recv_multipart()
    client, empty, body = msg[0], msg[1], msg[2:]
    assert empty == b"", msg
    print("request", b",".join(body).decode(errors="replace"), flush=True)
    worker.send_multipart([client, b"", b"py"] + body)
