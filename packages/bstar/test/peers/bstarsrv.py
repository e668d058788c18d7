"""An independent Binary Star server on pyzmq (written for zkit's interop tests).

usage: bstarsrv.py primary|backup LOCAL REMOTE VOTER HEARTBEAT_MS

The Guide's state table (shared/protocols.md, "Binary Star"), nothing more:
publishes its state as one ASCII digit every heartbeat on a PUB bound at
LOCAL, subscribes to its peer at REMOTE, echoes requests on a ROUTER bound at
VOTER while active (the reply is [envelope]["python"][body...]), drops them
otherwise. The peer expires after 2 heartbeats; dual active or dual passive
is fatal, as in the Guide (it prints "fatal ..." and exits 3).

It prints one line per fact: "listening", "state <name>" on every change,
"peer <hex of each frame>" for the first state messages it receives,
"served", "rejected".
"""
import sys
import time
import zmq

PRIMARY, BACKUP, ACTIVE, PASSIVE = 1, 2, 3, 4
NAMES = {PRIMARY: "primary", BACKUP: "backup", ACTIVE: "active", PASSIVE: "passive"}
CLIENT_REQUEST = 5

role, local, remote, voter_ep, hb = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
clock = lambda: time.monotonic() * 1000

ctx = zmq.Context()
pub = ctx.socket(zmq.PUB)
pub.linger = 0
pub.bind(local)
sub = ctx.socket(zmq.SUB)
sub.linger = 0
sub.setsockopt(zmq.SUBSCRIBE, b"")
sub.connect(remote)
voter = ctx.socket(zmq.ROUTER)
voter.linger = 0
voter.bind(voter_ep)

state = PRIMARY if role == "primary" else BACKUP
peer_expiry = clock() + 2 * hb
print("listening", flush=True)


def fsm(event):
    """Applies one event; returns True to serve a client request."""
    global state
    before = state
    serve = False
    expired = clock() >= peer_expiry
    if state == PRIMARY:
        if event == BACKUP:
            state = ACTIVE
        elif event == ACTIVE:
            state = PASSIVE
        elif event == CLIENT_REQUEST and expired:
            state, serve = ACTIVE, True
    elif state == BACKUP:
        if event == ACTIVE:
            state = PASSIVE
    elif state == ACTIVE:
        if event == ACTIVE:
            print("fatal dual active", flush=True)
            sys.exit(3)
        serve = event == CLIENT_REQUEST
    elif state == PASSIVE:
        if event in (PRIMARY, BACKUP):
            state = ACTIVE
        elif event == PASSIVE:
            print("fatal dual passive", flush=True)
            sys.exit(3)
        elif event == CLIENT_REQUEST and expired:
            state, serve = ACTIVE, True
    if state != before:
        print("state " + NAMES[state], flush=True)
    return serve


poller = zmq.Poller()
poller.register(sub, zmq.POLLIN)
poller.register(voter, zmq.POLLIN)
send_at = clock()
shown = 0
while True:
    events = dict(poller.poll(max(0, int(send_at - clock()))))
    if sub in events:
        frames = sub.recv_multipart()
        if shown < 6:
            print("peer " + " ".join(f.hex() for f in frames), flush=True)
            shown += 1
        peer_expiry = clock() + 2 * hb
        if len(frames) == 1 and frames[0] in (b"1", b"2", b"3", b"4"):
            fsm(int(frames[0]))
    if voter in events:
        frames = voter.recv_multipart()
        if fsm(CLIENT_REQUEST):
            cut = frames.index(b"") + 1 if b"" in frames[1:] else 1
            voter.send_multipart(frames[:cut] + [b"python"] + frames[cut:])
            print("served", flush=True)
        else:
            print("rejected", flush=True)
    if clock() >= send_at:
        pub.send(str(state).encode())
        send_at = clock() + hb
