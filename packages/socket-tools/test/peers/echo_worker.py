# A REP worker on pyzmq that zkit did not write: connects to the endpoint in
# argv[1] and answers every request with ["echo"] + the request's frames.
import sys
import zmq

ctx = zmq.Context()
rep = ctx.socket(zmq.REP)
rep.connect(sys.argv[1])
while True:
    request = rep.recv_multipart()
    rep.send_multipart([b"echo"] + request)
