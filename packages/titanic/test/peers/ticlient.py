"""An independent 9/TSP client on pyzmq (written for zkit's interop tests).

usage: ticlient.py ENDPOINT SERVICE BODY...

Speaks 7/MDP client frames itself over a REQ socket (which adds the empty
delimiter), as the Guide's ticlient does through mdcliapi:
  titanic.request [SERVICE][BODY...]  -> expects [MDPC01][titanic.request][200][uuid]
  titanic.reply   [UUID in upper case] until [200][reply...], printing each status
  titanic.close   [uuid]              -> expects [200]
Prints every reply as "frames <name> <hex>,<hex>,..." so the test can check
them byte for byte, then "reply <frame>|<frame>..." and "done".
"""
import sys
import time
import zmq

endpoint, service = sys.argv[1], sys.argv[2].encode()
body = [a.encode() for a in sys.argv[3:]]
ctx = zmq.Context()


def call(name, frames):
    """One MDP request on a fresh REQ socket (Lazy Pirate: no reuse after a timeout)."""
    for attempt in range(20):
        sock = ctx.socket(zmq.REQ)
        sock.linger = 0
        sock.connect(endpoint)
        sock.send_multipart([b"MDPC01", name] + frames)
        if sock.poll(2000, zmq.POLLIN):
            reply = sock.recv_multipart()
            sock.close()
            print("frames %s %s" % (name.decode(), ",".join(f.hex() for f in reply)), flush=True)
            assert reply[0] == b"MDPC01", reply
            assert reply[1] == name, reply
            return reply[2:]
        sock.close()
    raise SystemExit("no answer from %s" % name.decode())


status = call(b"titanic.request", [service] + body)
assert status[0] == b"200", status
uuid = status[1].decode()
assert len(uuid) == 32 and all(c in "0123456789abcdefABCDEF" for c in uuid), uuid
print("uuid " + uuid, flush=True)

while True:
    reply = call(b"titanic.reply", [uuid.upper().encode()])  # the C reference writes upper case
    code = reply[0][:3]
    print("status " + code.decode(), flush=True)
    if code == b"200":
        print("reply " + "|".join(f.decode("latin1") for f in reply[1:]), flush=True)
        break
    assert code == b"300", reply
    time.sleep(0.1)

closed = call(b"titanic.close", [uuid.encode()])
assert closed == [b"200"], closed
print("done", flush=True)
ctx.term()
