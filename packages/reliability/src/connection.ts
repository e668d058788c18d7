/**
 * PeerConnection: a worker's (or client's) connection to the one peer it
 * serves, as every Guide worker keeps it: a fresh socket for every
 * connection, a hello (READY) first, heartbeats both ways, the peer lost
 * after `liveness` silent intervals, a reconnect after a back-off, and a
 * connection number so that a late reply never goes out on a newer
 * connection. Written once for the Majordomo, Paranoid and Simple Pirate
 * workers and whatever comes next.
 * @module
 */
import { ZSocket, getLogger, now, type TraceFn, type ZkitError } from "@zkit/core";
import { HandshakeGuard, securitySocketOptions, type HandshakeError, type SecurityOptions, type SecuritySocketOptions } from "@zkit/security";
import type { ZLoop } from "@zkit/zloop";
import type { Backoff } from "./backoff.js";
import { Heartbeat } from "./heartbeat.js";

const log = getLogger("reliability");

/** What a {@link PeerConnection} reports, for its owner to emit under the standard event names. */
export type ConnectionEvent =
  | {
      /** A fresh socket is connecting (the first connection and every reconnection). */
      type: "connecting";
      /** Which connection: 1, 2, ... */
      connection: number;
      /** Where it connects. */
      endpoint: string;
    }
  | {
      /** The hello (READY) was handed to libzmq on this connection; the peer may not be there yet. */
      type: "ready";
      connection: number;
    }
  | {
      /** The first well-formed message from the peer on this connection: it is there. */
      type: "connected";
      connection: number;
    }
  | {
      /** The connection was dropped. */
      type: "disconnected";
      connection: number;
      /** Why: the peer went silent (`"silent"`), said goodbye, the owner gave up on it... */
      reason: string;
      /** How long the peer had been silent, in ms. */
      silentMs: number;
      /** True when the peer had answered on this connection; false when nothing ever came (nobody there, or not the right protocol). */
      answered: boolean;
      /** Set when the connection was dropped because its security handshake failed (reason `"handshake"`): what the server said. */
      error?: HandshakeError;
    }
  | {
      /** Waiting before the next connection. */
      type: "reconnecting";
      /** The wait, in ms. */
      delayMs: number;
      /** Reconnections in a row without an answer from the peer, this one included. */
      attempt: number;
      reason: string;
    };

/** Options of a {@link PeerConnection}. */
export interface PeerConnectionOptions {
  /** Its name in logs, e.g. `"MajordomoWorker echo"`. */
  owner: string;
  /** Where to connect: a CZMQ endpoint list (connects). */
  endpoint: string;
  /** The socket type: `"DEALER"` (heartbeating workers) or `"REQ"` (Simple Pirate). */
  type: "DEALER" | "REQ";
  /** The loop that reads the socket and runs the heartbeat timer. */
  loop: ZLoop;
  /** The delays before reconnecting after the peer was lost. */
  backoff: Backoff;
  /** The first message on every connection (READY), if the protocol has one. */
  hello?: () => Buffer[];
  /** Heartbeats: sent every `intervalMs`; the peer is lost after `liveness` silent intervals. None for REQ-style protocols. */
  heartbeat?: { intervalMs: number; liveness: number; frames: () => Buffer[] };
  /**
   * Each message from the peer, with its connection number; return true when
   * it was well formed (the first such one on a connection is `connected`).
   * Any message, well formed or not, proves the peer alive.
   */
  onMessage: (frames: Buffer[], connection: number) => boolean;
  /** What happens to the connection, for the owner's events. */
  onEvent: (event: ConnectionEvent) => void;
  /** Every message in and out (`socket` is `traceName`). */
  trace?: TraceFn;
  /** The peer's name in traces, e.g. `"broker"`. @defaultValue "peer" */
  traceName?: string;
  /**
   * How every connection is secured (`@zkit/security`): this side is the
   * client, so CURVE needs `serverKey`. A handshake that fails drops the
   * connection at once with reason `"handshake"` and the
   * {@link HandshakeError} in the `disconnected` event, instead of waiting
   * for the heartbeat to give up; the next connection comes after the
   * back-off (the server's operator may fix its key store meanwhile).
   * Checked when the connection is made: a bad one throws
   * `InvalidArgumentError` naming `<owner> option security`.
   * @defaultValue none (NULL security, libzmq's default)
   */
  security?: SecurityOptions;
}

/**
 * One reconnecting connection to one peer. The owner sends with
 * {@link PeerConnection.send}, drops the connection when the protocol says
 * so ({@link PeerConnection.drop}), and closes it at the end.
 */
export class PeerConnection {
  readonly #o: PeerConnectionOptions;
  readonly #heartbeat: Heartbeat | undefined;
  #socket: ZSocket<"DEALER" | "REQ"> | undefined;
  #guard: HandshakeGuard | undefined;
  readonly #socketOptions: SecuritySocketOptions;
  #connection = 0;
  #answered = false;
  #lastConnect = -Infinity;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: PeerConnectionOptions) {
    this.#o = options;
    this.#socketOptions = securitySocketOptions(options.security, { owner: options.owner.split(" ")[0]!, role: "client" });
    const hb = options.heartbeat;
    if (hb !== undefined) {
      this.#heartbeat = new Heartbeat({
        intervalMs: hb.intervalMs,
        liveness: hb.liveness,
        onBeat: () => {
          if (this.#socket !== undefined) this.send(hb.frames());
        },
        onLost: (silentMs) => {
          if (this.#socket === undefined) return;
          log.warn("%s: no message from the peer for %d ms", options.owner, Math.round(silentMs));
          this.drop("silent");
        },
      });
    }
  }

  /** The current (or last) connection's number: 1 for the first, bumped on every connect. */
  get connection(): number {
    return this.#connection;
  }

  /** True while a socket is open (connected or connecting), false while waiting to reconnect. */
  get connected(): boolean {
    return this.#socket !== undefined;
  }

  /** True once the peer answered on the current connection. */
  get answered(): boolean {
    return this.#answered;
  }

  /** Milliseconds since the current connection was made. */
  get sinceConnectMs(): number {
    return now() - this.#lastConnect;
  }

  /**
   * Connects for the first time and starts heartbeating.
   * @throws when the socket cannot be created or connected (a bad endpoint, no sockets left)
   */
  async start(): Promise<void> {
    this.#heartbeat?.start(this.#o.loop);
    await this.#connect();
  }

  /** Sends on the current connection; nothing when there is none (between connections). */
  send(frames: Buffer[]): void {
    const socket = this.#socket;
    if (socket === undefined || socket.closed) return;
    this.#o.trace?.({ direction: "out", socket: this.#o.traceName ?? "peer", frames });
    socket.post(frames, this.#onSendFailed);
  }

  #onSendFailed = (err: ZkitError): void => {
    log.debug("%s: send failed: %s", this.#o.owner, err.message);
  };

  /** Resolves once what was sent has been handed to libzmq, or after `ms`. */
  async flush(ms: number): Promise<void> {
    const socket = this.#socket;
    if (socket === undefined || socket.closed) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([socket.flush(), new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
    clearTimeout(timer);
  }

  /**
   * Drops the connection (its socket closes, with nothing left to send) and
   * connects a fresh one after `delayMs`, or after the back-off's next delay
   * when not given.
   */
  drop(reason: string, delayMs?: number): void {
    this.#drop(reason, delayMs, undefined);
  }

  #drop(reason: string, delayMs: number | undefined, error: HandshakeError | undefined): void {
    const socket = this.#socket;
    if (socket === undefined || this.#closed) return;
    this.#socket = undefined; // replies of this connection are dropped from now on (`connected` is false, then the number moves on)
    this.#guard?.close();
    this.#guard = undefined;
    this.#o.loop.readerEnd(socket);
    socket.close({ lingerMs: 0 }); // nothing queued for a peer we gave up on
    const silentMs = this.#heartbeat?.silentMs ?? this.sinceConnectMs;
    this.#o.onEvent({
      type: "disconnected",
      connection: this.#connection,
      reason,
      silentMs: Math.round(silentMs),
      answered: this.#answered,
      ...(error !== undefined ? { error } : {}),
    });
    const delay = delayMs ?? this.#o.backoff.next();
    this.#o.onEvent({ type: "reconnecting", delayMs: delay, attempt: Math.max(1, this.#o.backoff.attempt), reason });
    this.#schedule(delay);
  }

  /** Stops reconnecting and closes the socket (after `flush()`, if the owner wants its last words out). */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#heartbeat?.stop();
    this.#guard?.close();
    this.#guard = undefined;
    const socket = this.#socket;
    this.#socket = undefined;
    if (socket !== undefined) {
      this.#o.loop.readerEnd(socket);
      socket.close();
    }
  }

  #schedule(delayMs: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#connect().catch((err: unknown) => {
        log.error("%s: connecting failed: %s", this.#o.owner, (err as Error)?.message ?? String(err));
        if (!this.#closed) this.#schedule(this.#o.backoff.next());
      });
    }, delayMs);
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    const connection = this.#connection + 1;
    this.#o.onEvent({ type: "connecting", connection, endpoint: this.#o.endpoint });
    this.#lastConnect = now();
    let socket: ZSocket<"DEALER" | "REQ">;
    let guard: HandshakeGuard | undefined;
    if (this.#o.security === undefined) {
      socket = await ZSocket.new(this.#o.type, this.#o.endpoint);
    } else {
      // the guard watches the socket before it connects: libzmq reports only what happens after
      socket = new ZSocket(this.#o.type, this.#socketOptions);
      const mine = socket;
      guard = new HandshakeGuard(socket, {
        onFailure: (err) => {
          if (this.#socket !== mine) return;
          log.error("%s: %s", this.#o.owner, err.message);
          this.#drop("handshake", undefined, err);
        },
      });
      try {
        await socket.attach(this.#o.endpoint);
      } catch (err) {
        guard.close();
        socket.close();
        throw err;
      }
    }
    if (this.#closed) {
      guard?.close();
      socket.close();
      return;
    }
    this.#guard = guard;
    this.#connection = connection;
    this.#socket = socket;
    this.#answered = false;
    this.#heartbeat?.reset();
    this.#o.loop.reader(socket, (frames) => this.#receive(socket, frames));
    this.#o.loop.readerSetTolerant(socket);
    const hello = this.#o.hello?.();
    if (hello !== undefined) this.send(hello);
    this.#o.onEvent({ type: "ready", connection });
  }

  #receive(socket: ZSocket, frames: Buffer[]): void {
    if (socket !== this.#socket) return;
    this.#o.trace?.({ direction: "in", socket: this.#o.traceName ?? "peer", frames });
    this.#heartbeat?.heard();
    const connection = this.#connection;
    const wellFormed = this.#o.onMessage(frames, connection);
    if (wellFormed && !this.#answered && this.#connection === connection && this.#socket === socket) {
      this.#answered = true;
      this.#o.backoff.reset();
      this.#o.onEvent({ type: "connected", connection });
    }
  }
}
