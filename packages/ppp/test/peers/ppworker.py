"""A Paranoid Pirate (6/PPP) worker peer on pyzmq, independent of zkit,
after the Guide's ppworker: a DEALER that sends READY (0x01), heartbeats
(0x02) every interval, counts the queue dead after `liveness` silent
intervals and reconnects with a fresh socket, backing off exponentially.
It echoes each request [client][""][body...], body prefixed with "py".

usage: ppworker.py BACKEND INTERVAL_MS LIVENESS
"""
import sys
import time

import zmq

endpoint = sys.argv[1]
interval = int(sys.argv[2]) / 1000.0
liveness_max = int(sys.argv[3])
ctx = zmq.Context()
poller = zmq.Poller()


def connect():
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(endpoint)
    poller.register(sock, zmq.POLLIN)
    sock.send(b"\x01")
    print("ready", flush=True)
    return sock


worker = connect()
liveness = liveness_max
backoff = interval
heartbeat_at = time.time() + interval
while True:
    events = dict(poller.poll(interval * 1000))
    if events.get(worker) == zmq.POLLIN:
        frames = worker.recv_multipart()
        if len(frames) >= 3 and frames[1] == b"":
            print("request", b",".join(frames[2:]).decode(errors="replace"), flush=True)
            worker.send_multipart(frames[:2] + [b"py"] + frames[2:])
        elif frames != [b"\x02"]:
            print("invalid", frames, flush=True)
        liveness = liveness_max
        backoff = interval
    else:
        liveness -= 1
        if liveness == 0:
            print("heartbeat failure", flush=True)
            time.sleep(backoff)
            backoff = min(backoff * 2, 32.0)
            poller.unregister(worker)
            worker.close()
            worker = connect()
            liveness = liveness_max
    if time.time() > heartbeat_at:
        heartbeat_at = time.time() + interval
        worker.send(b"\x02")
