# A REQ client on pyzmq that zkit did not write: connects to argv[1], sends
# argv[2] requests ["request"][<n>][00 FF] one at a time and prints each
# reply's frames in hex, then exits 0 (or 1 after 10 s without a reply).
import sys
import zmq

ctx = zmq.Context()
req = ctx.socket(zmq.REQ)
req.setsockopt(zmq.RCVTIMEO, 10000)
req.setsockopt(zmq.LINGER, 0)
req.connect(sys.argv[1])
for n in range(int(sys.argv[2])):
    req.send_multipart([b"request", str(n).encode(), b"\x00\xff"])
    try:
        reply = req.recv_multipart()
    except zmq.Again:
        print(f"no reply to request {n}", flush=True)
        sys.exit(1)
    print("reply " + " ".join(f.hex() for f in reply), flush=True)
