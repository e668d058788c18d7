"""An independent 9/TSP Titanic on pyzmq (written for zkit's interop tests
from 9/TSP and 7/MDP, not from zkit's code).

usage: titanic_upper.py ENDPOINT [HEARTBEAT_MS]

Like the Guide's C titanic, it hands out upper-case hex uuids and keeps each
request under the exact string it handed out: a uuid sent back in another
case is unknown to it (titanic.reply answers 400). It keeps everything in
memory (no disk: the test is about the wire).

Three 7/MDP workers (DEALER, one per service), heartbeating every
HEARTBEAT_MS (default 2500), and one 7/MDP client (DEALER) that forwards
each stored request to its service, one at a time.
  titanic.request [service][body...] -> [200][UUID]
  titanic.reply   [uuid]             -> [200][reply...] | [300] | [400]
  titanic.close   [uuid]             -> [200]
Prints, for the test:
  "ready" once the three READYs are sent,
  "issued <hex of the uuid frame>" for each request stored,
  "reply <hex of the uuid frame> <status>" for each titanic.reply,
  "close <hex of the uuid frame> found|unknown" for each titanic.close,
  "forwarded <service>" and "answered <service>" as it dispatches.
"""
import sys
import time
import uuid as uuidlib
import zmq

endpoint = sys.argv[1]
interval = int(sys.argv[2]) / 1000 if len(sys.argv) > 2 else 2.5
ctx = zmq.Context()
poller = zmq.Poller()


def out(line):
    print(line, flush=True)


workers = {}
for name in (b"titanic.request", b"titanic.reply", b"titanic.close"):
    sock = ctx.socket(zmq.DEALER)
    sock.linger = 0
    sock.connect(endpoint)
    sock.send_multipart([b"", b"MDPW01", b"\x01", name])
    poller.register(sock, zmq.POLLIN)
    workers[sock] = name
client = ctx.socket(zmq.DEALER)
client.linger = 0
client.connect(endpoint)
poller.register(client, zmq.POLLIN)
out("ready")

store = {}  # uuid string as issued -> {"service", "body", "reply"}
queue = []  # uuids waiting to be forwarded, oldest first
in_flight = None  # the uuid forwarded and not answered yet


def serve(name, body):
    """The reply body of one titanic.* request."""
    if name == b"titanic.request":
        if not body:
            return [b"400"]
        key = uuidlib.uuid4().hex.upper()
        store[key] = {"service": body[0], "body": body[1:], "reply": None}
        queue.append(key)
        out("issued " + key.encode().hex())
        return [b"200", key.encode()]
    key = body[0].decode("latin1") if body else ""
    entry = store.get(key)
    if name == b"titanic.reply":
        if entry is None:
            status = [b"400"]
        elif entry["reply"] is None:
            status = [b"300"]
        else:
            status = [b"200"] + entry["reply"]
        out("reply %s %s" % (body[0].hex() if body else "-", status[0].decode()))
        return status
    out("close %s %s" % (body[0].hex() if body else "-", "found" if entry is not None else "unknown"))
    store.pop(key, None)
    return [b"200"]


next_beat = time.monotonic() + interval
while True:
    if in_flight is None and queue:
        in_flight = queue.pop(0)
        entry = store.get(in_flight)
        if entry is None:
            in_flight = None
        else:
            client.send_multipart([b"", b"MDPC01", entry["service"]] + entry["body"])
            out("forwarded " + entry["service"].decode())
    events = dict(poller.poll(max(0, next_beat - time.monotonic()) * 1000))
    for sock, name in workers.items():
        if sock not in events:
            continue
        frames = sock.recv_multipart()
        if len(frames) < 3 or frames[0] != b"" or frames[1] != b"MDPW01":
            continue
        if frames[2] == b"\x02":  # REQUEST: [client][""][body...]
            reply = serve(name, frames[5:])
            sock.send_multipart([b"", b"MDPW01", b"\x03", frames[3], b""] + reply)
        elif frames[2] == b"\x05":  # DISCONNECT
            out("disconnected")
            raise SystemExit(1)
    if client in events:
        frames = client.recv_multipart()  # [""][MDPC01][service][reply...]
        if in_flight is not None and in_flight in store:
            store[in_flight]["reply"] = frames[3:]
            out("answered " + frames[2].decode())
        in_flight = None
    if time.monotonic() >= next_beat:
        for sock in workers:
            sock.send_multipart([b"", b"MDPW01", b"\x04"])
        next_beat = time.monotonic() + interval
