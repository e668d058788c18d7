# A REP echo server on pyzmq that zkit did not write: binds an ephemeral tcp
# port on 127.0.0.1, prints "listening on <endpoint>", echoes every request.
# The monitor tests connect to it and kill it with SIGKILL.
import zmq

ctx = zmq.Context()
rep = ctx.socket(zmq.REP)
port = rep.bind_to_random_port("tcp://127.0.0.1")
print(f"listening on tcp://127.0.0.1:{port}", flush=True)
while True:
    rep.send_multipart(rep.recv_multipart())
