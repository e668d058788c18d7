"""A Clone client (12/CHP) on pyzmq, written from the RFC, independent of zkit.

Subscribes to SUBTREE and HUGZ on P + 1, asks P for a snapshot and prints
each KVSYNC as "sync KEY SEQ uuid=HEX props=PROPS body=BODY" and the end as
"kthxbai SEQ last=LASTFRAME". Then sends "SUBTREE" + "py" = "from python"
with ttl=60 to the collector on P + 2 (an XPUB, so it sends once the
server's subscription is there) and prints every KVPUB as "pub KEY SEQ
props=PROPS body=BODY" and HUGZ as "hugz SEQ", until it has seen its own
update and two HUGZ after it. Both dialects of the server are read.

usage: cloneclient.py PORT SUBTREE
"""
import struct
import sys

import zmq

port = int(sys.argv[1])
subtree = sys.argv[2].encode()
ctx = zmq.Context()

sub = ctx.socket(zmq.SUB)
sub.setsockopt(zmq.LINGER, 0)
sub.setsockopt(zmq.SUBSCRIBE, subtree)
sub.setsockopt(zmq.SUBSCRIBE, b"HUGZ")
sub.connect("tcp://127.0.0.1:%d" % (port + 1))

snap = ctx.socket(zmq.DEALER)
snap.setsockopt(zmq.LINGER, 0)
snap.connect("tcp://127.0.0.1:%d" % port)
snap.send_multipart([b"ICANHAZ?", subtree])
while True:
    key, seq, uuid, props, body = snap.recv_multipart()
    seq = struct.unpack(">q", seq)[0]
    if key == b"KTHXBAI":
        print("kthxbai %d last=%s" % (seq, body.decode()), flush=True)
        last = seq
        break
    print("sync %s %d uuid=%s props=%s body=%s" % (key.decode(), seq, uuid.hex(), props.decode().replace("\n", ";"), body.decode()), flush=True)

pub = ctx.socket(zmq.XPUB)
pub.setsockopt(zmq.LINGER, 1000)
pub.connect("tcp://127.0.0.1:%d" % (port + 2))
pub.recv()  # the collector's subscription
mykey = subtree + b"py"
pub.send_multipart([mykey, struct.pack(">q", 0), bytes(range(100, 116)), b"ttl=60\n", b"from python"])
print("sent %s" % mykey.decode(), flush=True)

seen_mine = False
hugz = 0
while not (seen_mine and hugz >= 2):
    key, seq, uuid, props, body = sub.recv_multipart()
    seq = struct.unpack(">q", seq)[0]
    if key == b"HUGZ":
        # only those after its own update count: a Guide-form HUGZ then
        # carries the sequence of that update
        if seen_mine:
            hugz += 1
        print("hugz %d" % seq, flush=True)
        continue
    if seq <= last:
        continue
    last = seq
    print("pub %s %d uuid=%s props=%s body=%s" % (key.decode(), seq, uuid.hex(), props.decode().replace("\n", ";"), body.decode()), flush=True)
    if key == mykey:
        seen_mine = True
print("done", flush=True)
