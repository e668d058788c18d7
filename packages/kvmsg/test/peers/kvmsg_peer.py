"""A kvmsg (12/CHP) peer on pyzmq, written from the RFC, independent of zkit.

It connects a DEALER to ENDPOINT and sends one kvmsg it built itself:
key "/py/one", sequence 2^40 + 7, uuid 16 bytes 0x00..0x0f, properties
"ttl=30\\nowner=py\\n", body "from python". Then it reads kvmsgs back, decodes
each with its own parser, prints one line per message and answers each with
the same message re-encoded with sequence + 1 and property "seen=py"
appended. It stops after COUNT messages.

usage: kvmsg_peer.py ENDPOINT COUNT
"""
import struct
import sys

import zmq

endpoint = sys.argv[1]
count = int(sys.argv[2])


def encode(key, seq, uuid, props, body):
    prop_frame = "".join("%s=%s\n" % (n, v) for n, v in props).encode()
    return [key.encode(), struct.pack(">q", seq), uuid, prop_frame, body]


def decode(frames):
    if len(frames) != 5:
        raise ValueError("kvmsg needs 5 frames, got %d" % len(frames))
    key, seq, uuid, props, body = frames
    if len(seq) != 8:
        raise ValueError("sequence must be 8 bytes")
    if len(uuid) not in (0, 16):
        raise ValueError("uuid must be 0 or 16 bytes")
    plist = []
    for line in props.decode().split("\n"):
        if line == "":
            continue
        name, _, value = line.partition("=")
        plist.append((name, value))
    return key.decode(), struct.unpack(">q", seq)[0], uuid, plist, body


ctx = zmq.Context()
sock = ctx.socket(zmq.DEALER)
sock.setsockopt(zmq.LINGER, 1000)
sock.connect(endpoint)
sock.send_multipart(encode("/py/one", (1 << 40) + 7, bytes(range(16)), [("ttl", "30"), ("owner", "py")], b"from python"))
print("sent", flush=True)
for _ in range(count):
    key, seq, uuid, props, body = decode(sock.recv_multipart())
    print("got key=%s seq=%d uuid=%s props=%s body=%s" % (key, seq, uuid.hex(), ";".join("%s=%s" % p for p in props), body.hex()), flush=True)
    sock.send_multipart(encode(key, seq + 1, uuid, props + [("seen", "py")], body))
sock.close()
ctx.term()
print("done", flush=True)
