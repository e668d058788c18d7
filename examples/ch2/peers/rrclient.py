"""A request-reply client on pyzmq, for the interop test of ch2's brokers.

usage: rrclient.py ENDPOINT REQUESTS
Sends "Hello" on a REQ socket REQUESTS times, printing each reply.
"""
import sys

import zmq

endpoint, requests = sys.argv[1], int(sys.argv[2])
ctx = zmq.Context()
req = ctx.socket(zmq.REQ)
req.linger = 0
req.connect(endpoint)
for n in range(requests):
    req.send(b"Hello")
    print(f"Received reply {n} [{req.recv().decode()}]")
req.close()
ctx.term()
