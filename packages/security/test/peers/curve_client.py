"""A pyzmq CURVE client: one request to a server, and what became of it.

usage: curve_client.py ENDPOINT SERVER_PUBLIC_KEY CLIENT_CERT_FILE

Loads the client's keys with zmq.auth.load_certificate (the _secret file),
sends "hello" on a REQ socket and prints "REPLY <text>", or the first
handshake failure its monitor reports ("FAILED <event> <value>"), or
"TIMEOUT" after 10 s.
"""
import sys

import zmq
import zmq.auth
from zmq.utils.monitor import recv_monitor_message

endpoint, server_key, cert_file = sys.argv[1], sys.argv[2].encode(), sys.argv[3]
public, secret = zmq.auth.load_certificate(cert_file)

ctx = zmq.Context()
req = ctx.socket(zmq.REQ)
req.linger = 0
req.curve_secretkey = secret
req.curve_publickey = public
req.curve_serverkey = server_key
monitor = req.get_monitor_socket()
req.connect(endpoint)
req.send(b"hello")

poller = zmq.Poller()
poller.register(req, zmq.POLLIN)
poller.register(monitor, zmq.POLLIN)
FAILURES = {
    zmq.EVENT_HANDSHAKE_FAILED_AUTH: "HANDSHAKE_FAILED_AUTH",
    zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL: "HANDSHAKE_FAILED_PROTOCOL",
    zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL: "HANDSHAKE_FAILED_NO_DETAIL",
}
result = "TIMEOUT"
for _ in range(100):
    events = dict(poller.poll(100))
    if req in events:
        result = "REPLY " + req.recv().decode()
        break
    if monitor in events:
        event = recv_monitor_message(monitor)
        if event["event"] in FAILURES:
            result = "FAILED %s %d" % (FAILURES[event["event"]], event["value"])
            break
print(result, flush=True)
req.disable_monitor()
monitor.close(0)
req.close(0)
ctx.term()
