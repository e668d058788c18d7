"""A request-reply worker on pyzmq, for the interop test of ch2's brokers.

usage: rrworker.py ENDPOINT
Answers each request on a REP socket with "World", printing it, until killed.
"""
import sys

import zmq

ctx = zmq.Context()
rep = ctx.socket(zmq.REP)
rep.linger = 0
rep.connect(sys.argv[1])
print("ready", flush=True)
while True:
    request = rep.recv()
    print(f"Received request: [{request.decode()}]", flush=True)
    rep.send(b"World")
