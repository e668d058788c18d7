"""A 10/FLP (Freelance) server peer on pyzmq, written from the spec, independent
of zkit: a ROUTER whose routing id is its endpoint, set before it binds. PING
gets PONG; a request [control][body...] gets [control][NAME][body...]. It
prints every message it receives and sends, routing id left out, each frame in
hex: "recv 50494e47", "sent 31 ...".

With --guide-c it answers as the Guide's C flserver3 does: [PING][OK] to a
PING (it tests for "PONG" where it means "PING"), [control][OK] to a request.

usage: flserver.py ENDPOINT NAME [--guide-c]
"""
import sys

import zmq

endpoint = sys.argv[1]
name = sys.argv[2].encode()
guide_c = "--guide-c" in sys.argv[3:]

ctx = zmq.Context()
server = ctx.socket(zmq.ROUTER)
server.setsockopt(zmq.LINGER, 0)
server.setsockopt(zmq.ROUTING_ID, endpoint.encode())
server.bind(endpoint)
print("serving", endpoint, flush=True)


def show(frames):
    return " ".join(f.hex() for f in frames)


while True:
    frames = server.recv_multipart()
    print("recv", show(frames[1:]), flush=True)
    if len(frames) < 2:
        continue
    client, control, body = frames[0], frames[1], frames[2:]
    if guide_c:
        reply = [control, b"OK"]
    elif control == b"PING":
        reply = [b"PONG"]
    else:
        reply = [control, name] + body
    server.send_multipart([client] + reply)
    print("sent", show(reply), flush=True)
