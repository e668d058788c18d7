"""An independent 7/MDP client on pyzmq (written for zkit's interop tests).

usage: mdclient.py ENDPOINT SERVICE COUNT BODY...

A REQ socket (it adds the empty delimiter itself), as the Guide's mdcliapi:
sends [MDPC01][SERVICE][BODY...] COUNT times, checks each reply's header and
service, and prints "reply <frame>|<frame>..." per reply, then "done".

CURVE: with the environment variables CURVE_SECRET_FILE (this peer's
certificate, a ZPL secret file) and CURVE_SERVER_FILE (the server's public
certificate), the socket is a CURVE client, keys read with pyzmq's
zmq.auth.load_certificate; without them, no security. MDCLIENT_TIMEOUT_MS:
how long to wait for each reply (default 10000).
"""
import sys, os
import zmq

endpoint, service, count, body = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3]), [a.encode() for a in sys.argv[4:]]
ctx = zmq.Context()
sock = ctx.socket(zmq.REQ)
sock.linger = 0
sock.rcvtimeo = int(os.environ.get("MDCLIENT_TIMEOUT_MS", "10000"))
if os.environ.get("CURVE_SERVER_FILE"):
    import zmq.auth
    public, secret = zmq.auth.load_certificate(os.environ["CURVE_SECRET_FILE"])
    server_public, _ = zmq.auth.load_certificate(os.environ["CURVE_SERVER_FILE"])
    sock.curve_secretkey = secret
    sock.curve_publickey = public
    sock.curve_serverkey = server_public
sock.connect(endpoint)
for i in range(count):
    sock.send_multipart([b"MDPC01", service] + body)
    reply = sock.recv_multipart()
    assert reply[0] == b"MDPC01", reply
    assert reply[1] == service, reply
    print("reply " + "|".join(f.decode("latin1") for f in reply[2:]), flush=True)
print("done", flush=True)
sock.close()
ctx.term()
