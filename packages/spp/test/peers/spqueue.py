"""A Simple Pirate queue peer on pyzmq, independent of zkit, after the
Guide's spqueue: ROUTER frontend, ROUTER backend, an LRU list of workers,
the frontend polled only while a worker is ready.

usage: spqueue.py FRONTEND BACKEND   (prints the real endpoints)
"""
import sys

import zmq

ctx = zmq.Context()
frontend = ctx.socket(zmq.ROUTER)
backend = ctx.socket(zmq.ROUTER)
frontend.bind(sys.argv[1])
backend.bind(sys.argv[2])
print("frontend", frontend.getsockopt(zmq.LAST_ENDPOINT).decode(), flush=True)
print("backend", backend.getsockopt(zmq.LAST_ENDPOINT).decode(), flush=True)

workers = []
poll_workers = zmq.Poller()
poll_workers.register(backend, zmq.POLLIN)
poll_both = zmq.Poller()
poll_both.register(frontend, zmq.POLLIN)
poll_both.register(backend, zmq.POLLIN)

while True:
    socks = dict((poll_both if workers else poll_workers).poll())
    if socks.get(backend) == zmq.POLLIN:
        msg = backend.recv_multipart()
        address, empty, rest = msg[0], msg[1], msg[2:]
        workers.append(address)
        if rest == [b"\x01"]:
            print("worker ready", flush=True)
        else:
            frontend.send_multipart(rest)
    if socks.get(frontend) == zmq.POLLIN and workers:
        msg = frontend.recv_multipart()
        backend.send_multipart([workers.pop(0), b""] + msg)
