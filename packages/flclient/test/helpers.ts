// Test helpers for @zkit/flclient: bare ROUTER sockets that speak 10/FLP by
// hand (to check our server and client frame by frame, and to play servers
// that misbehave), receives with a deadline, a gate a handler can wait on,
// and paths of the fixtures and Python peers.
import { fileURLToPath } from "node:url";
import { ROUTER_NOTIFY_CONNECT, ZSocket } from "@zkit/core";
import { waitFor, within } from "@zkit/testkit";

/** Where a test file lives next to this one. */
export const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

/** An ephemeral tcp port on the loopback interface. */
export const ANY = "tcp://127.0.0.1:*";

/** Receives one message within `ms`. */
export function recv(sock: ZSocket, ms = 15_000, what = "a message"): Promise<Buffer[]> {
  return within(sock.receive(), ms, what);
}

/**
 * A bare ROUTER connected to a 10/FLP server, the way a client must: sends
 * to the server fail until the connection is up (mandatory), so it PINGs
 * until one leaves, and returns with the first PONG read.
 */
export async function rawClient(server: string): Promise<{ sock: ZSocket<"ROUTER">; pong: Buffer[] }> {
  const sock = new ZSocket("ROUTER", { linger: 0, mandatory: true, sendTimeout: 0 });
  sock.connect(server);
  await waitFor(
    () =>
      sock.send([server, "PING"]).then(
        () => true,
        () => false,
      ),
    15_000,
    `a connection to ${server}`,
    20,
  );
  return { sock, pong: await recv(sock, 15_000, "PONG") };
}

/** A free ephemeral endpoint on the loopback interface (bound, read back, unbound). */
export async function freeEndpoint(): Promise<string> {
  const probe = new ZSocket("ROUTER", { linger: 0 });
  try {
    const ep = await probe.bind(ANY);
    await probe.unbind(ep);
    return ep;
  } finally {
    probe.close();
  }
}

/**
 * A ROUTER named `name` (a 10/FLP server's routing id, the endpoint by
 * default) bound to an ephemeral port: a server the test drives by hand.
 */
export async function rawServer(name?: string): Promise<{ sock: ZSocket<"ROUTER">; endpoint: string }> {
  const endpoint = await freeEndpoint();
  const sock = new ZSocket("ROUTER", { linger: 0, routingId: name ?? endpoint });
  // libzmq lets go of the probed port a few ms after unbind returns
  await waitFor(
    () =>
      sock.bind(endpoint).then(
        () => true,
        () => false,
      ),
    5000,
    `a bind to ${endpoint}`,
    10,
  );
  return { sock, endpoint };
}

/**
 * Serves a raw server: PONG to PING, and `answer(frames)` (the request as
 * received, client id first) for anything else. Ends when the socket closes.
 */
export function serveRaw(sock: ZSocket<"ROUTER">, answer: (request: Buffer[]) => Buffer[][] | void): Promise<void> {
  return (async () => {
    for await (const msg of sock) {
      if (msg[1]?.toString() === "PING") await sock.send([msg[0]!, "PONG"]).catch(() => {});
      else for (const reply of answer(msg) ?? []) await sock.send(reply).catch(() => {});
    }
  })();
}

/** A ROUTER that reports connections (`routerNotify` connect): shows the routing id a server presents. */
export function notifyingRouter(): ZSocket<"ROUTER"> {
  return new ZSocket("ROUTER", { linger: 0, routerNotify: ROUTER_NOTIFY_CONNECT });
}

/** A promise to wait on and the function that releases it. */
export function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { wait, open };
}
