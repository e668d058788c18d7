"""A burst client in the style of the Guide's mdclient2, on pyzmq (written for
zkit's interop tests).

usage: mdclient2.py ENDPOINT SERVICE COUNT

A DEALER (it adds the empty delimiter itself, as mdcliapi2): sends COUNT
requests [""][MDPC01][SERVICE][<n>] at once, then reads COUNT replies,
checking each one's header and service and that every <n> comes back exactly
once. Prints "sent <count>", then "replies <count> distinct <n> bad <n>" and
exits 0 when all came back, 1 after 60 s without a reply.
"""
import sys
import zmq

endpoint, service, count = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3])
ctx = zmq.Context()
sock = ctx.socket(zmq.DEALER)
sock.linger = 0
sock.sndhwm = 0
sock.rcvhwm = 0
sock.rcvtimeo = 60000
sock.connect(endpoint)
for i in range(count):
    sock.send_multipart([b"", b"MDPC01", service, str(i).encode()])
print("sent %d" % count, flush=True)
seen = set()
bad = 0
replies = 0
while replies < count:
    try:
        reply = sock.recv_multipart()
    except zmq.Again:
        break
    replies += 1
    if len(reply) != 4 or reply[0] != b"" or reply[1] != b"MDPC01" or reply[2] != service:
        bad += 1
        continue
    seen.add(reply[3])
print("replies %d distinct %d bad %d" % (replies, len(seen), bad), flush=True)
sock.close()
ctx.term()
sys.exit(0 if replies == count and len(seen) == count and bad == 0 else 1)
