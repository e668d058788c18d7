"""A pyzmq CURVE echo server guarded by pyzmq's own ZAP handler.

usage: curve_server.py SERVER_CERT_FILE CLIENTS_DIR

zmq.auth.thread.ThreadAuthenticator with configure_curve(location=CLIENTS_DIR)
(the public *.key files there are the clients allowed); a REP socket with
the server's keys (load_certificate of the _secret file) bound to
tcp://127.0.0.1:<ephemeral>. Prints "ENDPOINT <endpoint>", then echoes
every request until killed.
"""
import sys

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator

server_cert, clients_dir = sys.argv[1], sys.argv[2]
public, secret = zmq.auth.load_certificate(server_cert)

ctx = zmq.Context.instance()
auth = ThreadAuthenticator(ctx)
auth.start()
auth.configure_curve(domain="*", location=clients_dir)

rep = ctx.socket(zmq.REP)
rep.linger = 0
rep.curve_secretkey = secret
rep.curve_publickey = public
rep.curve_server = True
rep.bind("tcp://127.0.0.1:0")
print("ENDPOINT " + rep.getsockopt_string(zmq.LAST_ENDPOINT), flush=True)
while True:
    msg = rep.recv_multipart()
    rep.send_multipart(msg)
