"""A Clone server (12/CHP) on pyzmq, written from the RFC, independent of zkit.

Binds a ROUTER on P, a PUB on P + 1 and a SUB on P + 2 of 127.0.0.1, P a
free base it picks, and prints "port P". It holds "/py/a" = "alpha" and
"/py/b" = "beta" (ephemeral, ttl 3600 s) from the start. Each update on the
collector takes the next sequence, is stored (an empty body deletes) and
published; it prints "update KEY SEQ". ICANHAZ gets a KVSYNC per key of the
subtree, then KTHXBAI. When idle for 100 ms it publishes HUGZ. DIALECT
"rfc" sends the RFC's forms (KVSYNC without uuid and properties, KTHXBAI
with the subtree, HUGZ with sequence 0); "guide" those of the Guide's C
programs (uuid and properties with ttl as an absolute epoch-ms time,
KTHXBAI with an empty last frame, HUGZ with the current sequence).

usage: cloneserver.py DIALECT
"""
import random
import struct
import sys
import time

import zmq

dialect = sys.argv[1]
ctx = zmq.Context()


def bind_three():
    for _ in range(50):
        base = random.randint(20000, 60000)
        socks = []
        try:
            for kind, off in ((zmq.ROUTER, 0), (zmq.PUB, 1), (zmq.SUB, 2)):
                s = ctx.socket(kind)
                s.setsockopt(zmq.LINGER, 0)
                socks.append(s)
                s.bind("tcp://127.0.0.1:%d" % (base + off))
            return base, socks
        except zmq.ZMQError:
            for s in socks:
                s.close()
    raise SystemExit("no free ports")


port, (snapshot, publisher, collector) = bind_three()
collector.setsockopt(zmq.SUBSCRIBE, b"")

sequence = 0
store = {}  # key -> [sequence, uuid, props (list of (name, value)), body, expires (epoch s or None)]


def props_frame(props):
    return "".join("%s=%s\n" % p for p in props).encode()


def parse_props(frame):
    out = []
    for line in frame.decode().split("\n"):
        if line:
            name, _, value = line.partition("=")
            out.append((name, value))
    return out


def apply(key, uuid, props, body):
    global sequence
    sequence += 1
    ttl = dict(props).get("ttl")
    expires = time.time() + float(ttl) if ttl and float(ttl) > 0 else None
    if body:
        store[key] = [sequence, uuid, props, body, expires]
    else:
        store.pop(key, None)
    return sequence


apply("/py/a", bytes(range(16)), [], b"alpha")
apply("/py/b", bytes(range(16, 32)), [("ttl", "3600")], b"beta")
print("port %d" % port, flush=True)

poller = zmq.Poller()
poller.register(snapshot, zmq.POLLIN)
poller.register(collector, zmq.POLLIN)
last_pub = time.time()
while True:
    events = dict(poller.poll(50))
    if snapshot in events:
        frames = snapshot.recv_multipart()
        if len(frames) == 3 and frames[1] == b"ICANHAZ?":
            ident, subtree = frames[0], frames[2]
            for key in sorted(store):
                seq, uuid, props, body, expires = store[key]
                if not key.encode().startswith(subtree):
                    continue
                if dialect == "rfc":
                    snapshot.send_multipart([ident, key.encode(), struct.pack(">q", seq), b"", b"", body])
                else:
                    p = [(n, str(int(expires * 1000)) if n == "ttl" else v) for n, v in props]
                    snapshot.send_multipart([ident, key.encode(), struct.pack(">q", seq), uuid, props_frame(p), body])
            snapshot.send_multipart([ident, b"KTHXBAI", struct.pack(">q", sequence), b"", b"", subtree if dialect == "rfc" else b""])
            print("snapshot %s" % subtree.decode(), flush=True)
    if collector in events:
        frames = collector.recv_multipart()
        if len(frames) == 5 and len(frames[1]) == 8:
            key, _, uuid, props, body = frames
            seq = apply(key.decode(), uuid, parse_props(props), body)
            publisher.send_multipart([key, struct.pack(">q", seq), uuid, props, body])
            last_pub = time.time()
            print("update %s %d" % (key.decode(), seq), flush=True)
    now = time.time()
    for key in [k for k, v in store.items() if v[4] is not None and v[4] <= now]:
        del store[key]
        sequence += 1
        publisher.send_multipart([key.encode(), struct.pack(">q", sequence), b"", b"", b""])
        last_pub = now
    if now - last_pub >= 0.1:
        publisher.send_multipart([b"HUGZ", struct.pack(">q", sequence if dialect == "guide" else 0), b"", b"", b""])
        last_pub = now
