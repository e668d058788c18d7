"""A Paranoid Pirate (6/PPP) queue peer on pyzmq, independent of zkit,
after the Guide's ppqueue: ROUTER frontend and backend, an LRU list of
workers with expiry times, HEARTBEAT to idle workers every interval, the
frontend polled only while a worker is ready. Like the Guide's, any message
from a worker puts it back at the end of the ready list.

usage: ppqueue.py FRONTEND BACKEND INTERVAL_MS LIVENESS   (prints the real endpoints)
"""
import sys
import time
from collections import OrderedDict

import zmq

interval = int(sys.argv[3]) / 1000.0
liveness = int(sys.argv[4])
ctx = zmq.Context()
frontend = ctx.socket(zmq.ROUTER)
backend = ctx.socket(zmq.ROUTER)
frontend.bind(sys.argv[1])
backend.bind(sys.argv[2])
print("frontend", frontend.getsockopt(zmq.LAST_ENDPOINT).decode(), flush=True)
print("backend", backend.getsockopt(zmq.LAST_ENDPOINT).decode(), flush=True)

workers = OrderedDict()  # address -> expiry
poll_workers = zmq.Poller()
poll_workers.register(backend, zmq.POLLIN)
poll_both = zmq.Poller()
poll_both.register(frontend, zmq.POLLIN)
poll_both.register(backend, zmq.POLLIN)
heartbeat_at = time.time() + interval

while True:
    events = dict((poll_both if workers else poll_workers).poll(interval * 1000))
    if events.get(backend) == zmq.POLLIN:
        frames = backend.recv_multipart()
        address, rest = frames[0], frames[1:]
        workers.pop(address, None)
        workers[address] = time.time() + interval * liveness
        if len(rest) == 1:
            if rest[0] == b"\x01":
                print("worker ready", flush=True)
            elif rest[0] != b"\x02":
                print("invalid", frames, flush=True)
        else:
            frontend.send_multipart(rest)
    if events.get(frontend) == zmq.POLLIN and workers:
        frames = frontend.recv_multipart()
        address, _ = workers.popitem(last=False)
        backend.send_multipart([address] + frames)
    if time.time() >= heartbeat_at:
        for address in workers:
            backend.send_multipart([address, b"\x02"])
        heartbeat_at = time.time() + interval
    now = time.time()
    for address, expiry in list(workers.items()):
        if expiry < now:
            del workers[address]
