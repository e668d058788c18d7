"""A 10/FLP (Freelance) client peer on pyzmq, written from the spec, independent
of zkit: a ROUTER connected to each server, addressing it by its endpoint. It
PINGs each server until it answers exactly [endpoint][PONG] (sends to a server
whose connection is not up yet fail: ROUTER_MANDATORY), then sends REQUESTS
requests round robin, [endpoint][sequence][body], and checks each reply is
exactly [endpoint][sequence][reply...], the control frame unchanged. Prints
"pong ENDPOINT", then "reply ENDPOINT SEQ <reply frames in hex>"; exits 1 on
the first mismatch or timeout.

usage: flclient.py REQUESTS ENDPOINT...
"""
import sys
import time

import zmq

requests = int(sys.argv[1])
endpoints = sys.argv[2:]
ctx = zmq.Context()
client = ctx.socket(zmq.ROUTER)
client.setsockopt(zmq.LINGER, 0)
client.setsockopt(zmq.ROUTER_MANDATORY, 1)
for e in endpoints:
    client.connect(e)
poller = zmq.Poller()
poller.register(client, zmq.POLLIN)


def fail(text):
    print("FAIL", text, flush=True)
    sys.exit(1)


def receive(deadline, wanted=None):
    """The next message, skipping late PONGs (a PING resent on a slow machine
    gets two), except the one awaited (`wanted`)."""
    while time.time() < deadline:
        if dict(poller.poll(100)).get(client) == zmq.POLLIN:
            frames = client.recv_multipart()
            if len(frames) == 2 and frames[1] == b"PONG" and frames != wanted and frames[0].decode() in endpoints:
                continue
            return frames
    return None


for e in endpoints:
    deadline = time.time() + 20
    answered = False
    while not answered and time.time() < deadline:
        try:
            client.send_multipart([e.encode(), b"PING"])
        except zmq.ZMQError:
            time.sleep(0.05)  # no connection yet
            continue
        frames = receive(time.time() + 2, [e.encode(), b"PONG"])
        if frames is None:
            continue
        if frames != [e.encode(), b"PONG"]:
            fail("expected [%s][PONG], got %r" % (e, frames))
        answered = True
    if not answered:
        fail("no PONG from " + e)
    print("pong", e, flush=True)

for seq in range(1, requests + 1):
    e = endpoints[(seq - 1) % len(endpoints)]
    control = str(seq).encode()
    body = b"hello %d" % seq
    client.send_multipart([e.encode(), control, body])
    frames = receive(time.time() + 10)
    if frames is None:
        fail("no reply to request %d from %s" % (seq, e))
    if frames[:2] != [e.encode(), control] or len(frames) < 3:
        fail("request %d: expected [%s][%s][reply...], got %r" % (seq, e, seq, frames))
    print("reply", e, seq, " ".join(f.hex() for f in frames[2:]), flush=True)
