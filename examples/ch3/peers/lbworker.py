"""A load-balancing worker in Python on pyzmq: the Guide's lbbroker2 worker,
written without zkit. test/ch3.test.ts connects it to ch3/lbbroker3.ts to
show that the broker serves workers it did not write.

    python3 ch3/peers/lbworker.py tcp://127.0.0.1:5556
"""
import sys

import zmq

WORKER_READY = b"\x01"  # Signals worker is ready

context = zmq.Context()
worker = context.socket(zmq.REQ)
worker.setsockopt(zmq.LINGER, 0)
worker.connect(sys.argv[1])

# Tell broker we're ready for work
worker.send(WORKER_READY)
print("ready", flush=True)

# Process messages as they arrive: [envelope...][request] -> [envelope...]["OK"]
while True:
    msg = worker.recv_multipart()
    print("Worker: %s" % msg[-1].decode(), flush=True)
    msg[-1] = b"OK"
    worker.send_multipart(msg)
