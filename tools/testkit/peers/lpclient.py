"""A Lazy Pirate client peer on pyzmq, independent of zkit, after the
Guide's lpclient: sends sequence numbers 1..N over REQ, waits TIMEOUT ms
for the echo, on silence closes the socket, reconnects and resends, gives up
after RETRIES resends. Prints "reply <seq> <frames...>" per answer, then
"done"; exits 1 when it gives up.

usage: lpclient.py ENDPOINT N [TIMEOUT_MS] [RETRIES]
"""
import sys

import zmq

endpoint, count = sys.argv[1], int(sys.argv[2])
timeout = int(sys.argv[3]) if len(sys.argv) > 3 else 2500
retries = int(sys.argv[4]) if len(sys.argv) > 4 else 3
ctx = zmq.Context()


def connect():
    s = ctx.socket(zmq.REQ)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(endpoint)
    return s


client = connect()
for seq in range(1, count + 1):
    request = str(seq).encode()
    left = retries
    while True:
        client.send(request)
        if client.poll(timeout) & zmq.POLLIN:
            reply = client.recv_multipart()
            if reply[-1] == request:
                print("reply", seq, " ".join(f.decode(errors="replace") for f in reply), flush=True)
                break
            print("malformed reply", reply, flush=True)
        if left == 0:
            print("abandoning", seq, flush=True)
            sys.exit(1)
        left -= 1
        print("retrying", seq, flush=True)
        client.close()
        client = connect()
print("done", flush=True)
