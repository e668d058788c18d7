"""A minimal independent 7/MDP broker on pyzmq (written for zkit's interop tests).

usage: mdbroker.py BIND_ENDPOINT [HEARTBEAT_MS] [--strict]

One ROUTER; workers register with READY, requests wait in a FIFO per
service and go to idle workers in LRU order; REPLYs go back to the client;
HEARTBEAT both ways, silent workers expire; mmi.service answers 200/404.
Prints "listening on <endpoint>". With --strict it also checks 7/MDP's rule
that every REQUEST and REPLY carries at least one body frame (the Guide's C
broker asserts on a client REQUEST without one) and prints
"violation <what> <frame count>" for each message that breaks it.
"""
import sys, time
from collections import deque
import zmq

strict = "--strict" in sys.argv
argv = [a for a in sys.argv if a != "--strict"]
bind = argv[1]
interval = int(argv[2]) / 1000 if len(argv) > 2 else 2.5
ctx = zmq.Context()
sock = ctx.socket(zmq.ROUTER)
sock.linger = 0
sock.bind(bind)
print("listening on " + sock.getsockopt_string(zmq.LAST_ENDPOINT), flush=True)

workers = {}  # identity -> {"service": bytes, "expiry": float}
idle = {}  # service -> deque of identities
queues = {}  # service -> deque of (client, body)


def dispatch(service):
    q, w = queues.setdefault(service, deque()), idle.setdefault(service, deque())
    while q and w:
        worker = w.popleft()
        client, body = q.popleft()
        sock.send_multipart([worker, b"", b"MDPW01", b"\x02", client, b""] + body)


def drop(worker):
    info = workers.pop(worker, None)
    if info and worker in idle.get(info["service"], ()):
        idle[info["service"]].remove(worker)


next_beat = time.monotonic() + interval
poller = zmq.Poller()
poller.register(sock, zmq.POLLIN)
while True:
    events = dict(poller.poll(max(0, next_beat - time.monotonic()) * 1000))
    if sock in events:
        frames = sock.recv_multipart()
        sender, header = frames[0], frames[2] if len(frames) > 2 else b""
        if strict and header == b"MDPC01" and len(frames) < 5:
            print("violation client-request-without-body %d" % (len(frames) - 1), flush=True)
        if strict and header == b"MDPW01" and len(frames) >= 4 and frames[3] == b"\x03" and len(frames) < 7:
            print("violation worker-reply-without-body %d" % (len(frames) - 1), flush=True)
        if header == b"MDPC01" and len(frames) >= 4:
            service, body = frames[3], frames[4:]
            if service == b"mmi.service":
                name = body[0] if body else b""
                code = b"200" if any(i["service"] == name for i in workers.values()) else b"404"
                sock.send_multipart([sender, b"", b"MDPC01", service, code])
            elif service.startswith(b"mmi."):
                sock.send_multipart([sender, b"", b"MDPC01", service, b"501"])
            else:
                queues.setdefault(service, deque()).append((sender, body))
                dispatch(service)
        elif header == b"MDPW01" and len(frames) >= 4:
            command = frames[3]
            known = sender in workers
            if command == b"\x01" and not known and len(frames) == 5:
                workers[sender] = {"service": frames[4], "expiry": time.monotonic() + 3 * interval}
                idle.setdefault(frames[4], deque()).append(sender)
                dispatch(frames[4])
            elif command == b"\x03" and known and len(frames) >= 6:
                workers[sender]["expiry"] = time.monotonic() + 3 * interval
                service = workers[sender]["service"]
                sock.send_multipart([frames[4], b"", b"MDPC01", service] + frames[6:])
                idle.setdefault(service, deque()).append(sender)
                dispatch(service)
            elif command == b"\x04" and known:
                workers[sender]["expiry"] = time.monotonic() + 3 * interval
            elif command == b"\x05":
                drop(sender)
            else:
                drop(sender)
                sock.send_multipart([sender, b"", b"MDPW01", b"\x05"])
    if time.monotonic() >= next_beat:
        now = time.monotonic()
        for worker in [w for w, i in workers.items() if i["expiry"] < now]:
            drop(worker)
        for worker in workers:
            sock.send_multipart([worker, b"", b"MDPW01", b"\x04"])
        next_beat = now + interval
