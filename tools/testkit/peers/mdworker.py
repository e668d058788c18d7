"""An independent 7/MDP worker on pyzmq (written for zkit's interop tests).

usage: mdworker.py ENDPOINT SERVICE [HEARTBEAT_MS] [WORK_MS]

A DEALER that sends READY, heartbeats, and answers each REQUEST with
["py:" + first body frame] + the other body frames, one request at a time
(as the Guide's mdwrkapi: it reads the next request only after its reply),
after WORK_MS of "work" (default 0). For every REQUEST it prints the
received frames in hex ("request <hex>,<hex>,..."), so the test can check
them byte for byte.

CURVE: with the environment variables CURVE_SECRET_FILE (this peer's
certificate, a ZPL secret file) and CURVE_SERVER_FILE (the server's public
certificate), the socket is a CURVE client, keys read with pyzmq's
zmq.auth.load_certificate; without them, no security.
"""
import sys, time, os
import zmq

endpoint, service = sys.argv[1], sys.argv[2]
interval = int(sys.argv[3]) / 1000 if len(sys.argv) > 3 else 2.5
work = int(sys.argv[4]) / 1000 if len(sys.argv) > 4 else 0
ctx = zmq.Context()
sock = ctx.socket(zmq.DEALER)
sock.linger = 0
if os.environ.get("CURVE_SERVER_FILE"):
    import zmq.auth
    public, secret = zmq.auth.load_certificate(os.environ["CURVE_SECRET_FILE"])
    server_public, _ = zmq.auth.load_certificate(os.environ["CURVE_SERVER_FILE"])
    sock.curve_secretkey = secret
    sock.curve_publickey = public
    sock.curve_serverkey = server_public
sock.connect(endpoint)
sock.send_multipart([b"", b"MDPW01", b"\x01", service.encode()])
print("ready", flush=True)
next_beat = time.monotonic() + interval
poller = zmq.Poller()
poller.register(sock, zmq.POLLIN)
while True:
    events = dict(poller.poll(max(0, next_beat - time.monotonic()) * 1000))
    if sock in events:
        frames = sock.recv_multipart()
        if len(frames) < 3 or frames[0] != b"" or frames[1] != b"MDPW01":
            print("malformed", flush=True)
            continue
        command = frames[2]
        if command == b"\x02":
            print("request " + ",".join(f.hex() for f in frames), flush=True)
            client, body = frames[3], frames[5:]
            if work > 0:
                time.sleep(work)
            reply = [b"py:" + body[0]] + body[1:] if body else []
            sock.send_multipart([b"", b"MDPW01", b"\x03", client, b""] + reply)
        elif command == b"\x05":
            print("disconnected", flush=True)
            break
    if time.monotonic() >= next_beat:
        sock.send_multipart([b"", b"MDPW01", b"\x04"])
        next_beat = time.monotonic() + interval
sock.close()
ctx.term()
