"""An independent 7/MDP client on pyzmq (written for zkit's interop tests).

usage: mdclient.py ENDPOINT SERVICE COUNT BODY...

A REQ socket (it adds the empty delimiter itself), as the Guide's mdcliapi:
sends [MDPC01][SERVICE][BODY...] COUNT times, checks each reply's header and
service, and prints "reply <frame>|<frame>..." per reply, then "done".
"""
import sys
import zmq

endpoint, service, count, body = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3]), [a.encode() for a in sys.argv[4:]]
ctx = zmq.Context()
sock = ctx.socket(zmq.REQ)
sock.linger = 0
sock.rcvtimeo = 10000
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
