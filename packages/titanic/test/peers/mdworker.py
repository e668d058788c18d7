"""An independent 7/MDP worker on pyzmq (written for zkit's interop tests).

usage: mdworker.py ENDPOINT SERVICE HEARTBEAT_MS

A DEALER that sends READY, heartbeats every HEARTBEAT_MS, and answers each
REQUEST with the body frames prefixed "py:" (first frame only). Prints
"ready", then "request <hex>,<hex>,..." for each REQUEST as received.
"""
import sys
import time
import zmq

endpoint, service, heartbeat = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3])
ctx = zmq.Context()
sock = ctx.socket(zmq.DEALER)
sock.linger = 0
sock.connect(endpoint)
sock.send_multipart([b"", b"MDPW01", b"\x01", service])
print("ready", flush=True)
next_beat = time.monotonic() + heartbeat / 1000.0
while True:
    timeout = max(0, int((next_beat - time.monotonic()) * 1000))
    if sock.poll(timeout, zmq.POLLIN):
        msg = sock.recv_multipart()
        assert msg[0] == b"" and msg[1] == b"MDPW01", msg
        if msg[2] == b"\x02":
            print("request " + ",".join(f.hex() for f in msg), flush=True)
            client, body = msg[3], msg[5:]
            reply = [b"py:" + body[0]] + body[1:] if body else []
            sock.send_multipart([b"", b"MDPW01", b"\x03", client, b""] + reply)
        elif msg[2] == b"\x05":
            break
    if time.monotonic() >= next_beat:
        sock.send_multipart([b"", b"MDPW01", b"\x04"])
        next_beat = time.monotonic() + heartbeat / 1000.0
sock.close()
ctx.term()
