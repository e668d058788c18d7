"""The Guide's synchronized subscriber on pyzmq, for the interop test of ch2/syncpub.ts.

usage: syncsub.py UPDATES_ENDPOINT SYNC_ENDPOINT
Subscribes to everything, synchronizes over REQ-REP (no settle sleep), then
counts updates until "END".
"""
import sys

import zmq

ctx = zmq.Context()
sub = ctx.socket(zmq.SUB)
sub.connect(sys.argv[1])
sub.setsockopt(zmq.SUBSCRIBE, b"")
sync = ctx.socket(zmq.REQ)
sync.connect(sys.argv[2])
sync.send(b"")
sync.recv()
print("synchronized", flush=True)
updates = 0
while sub.recv() != b"END":
    updates += 1
print(f"Received {updates} updates")
sub.close()
sync.close()
ctx.term()
