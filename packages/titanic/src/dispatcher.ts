/**
 * The dispatcher of a Titanic server: when and what to forward. It runs on
 * its own, beside the titanic.* services, so a slow or silent service never
 * stalls them. A round walks the pending requests in order; for each
 * service it asks first whether a worker serves it (8/MMI `mmi.service`),
 * and forwards that service's requests only if one does, at most
 * `concurrency` at a time. Rounds run when a request is stored, when a
 * forward ends, and every `intervalMs` (to retry what could not go).
 *
 * The socket work is the host's (`hooks`): this class only schedules, so it
 * can be tested without sockets.
 * @module
 * @internal
 */
import { getLogger } from "@zkit/core";

const log = getLogger("titanic");

/** @internal What the dispatcher needs to know of a pending request. */
export interface Dispatchable {
  readonly uuid: string;
  readonly service: string | undefined;
}

/** @internal How one forward ended. */
export type ForwardResult = "replied" | "timeout" | "gone" | "failed";

/** @internal What the dispatcher asks its host to do. */
export interface DispatcherHooks<E extends Dispatchable> {
  /** The pending requests, in forwarding order (a live view is fine). */
  pending(): Iterable<E>;
  /** True when `entry` still waits for its reply (not closed, not replied). */
  stillPending(entry: E): boolean;
  /** Whether a worker serves `service`: true (200), false (404), undefined (no answer: the broker is unreachable). */
  serviceUp(service: string): Promise<boolean | undefined>;
  /** Forwards `entry` and stores its reply. Must not reject. */
  forward(entry: E): Promise<ForwardResult>;
}

/** @internal Dispatcher settings. */
export interface DispatcherConfig {
  /** A round at least this often, in ms; also how long an `mmi.service` 200 is trusted. */
  intervalMs: number;
  /** The most forwards in flight at once. */
  concurrency: number;
}

/** @internal Schedules the forwarding of pending requests. */
export class Dispatcher<E extends Dispatchable> {
  readonly #config: DispatcherConfig;
  readonly #hooks: DispatcherHooks<E>;
  readonly #inFlight = new Map<string, Promise<void>>();
  /** Services a worker served at the last ask, and until when that is trusted (`performance.now()`). */
  readonly #upUntil = new Map<string, number>();
  /** Requests whose last forward timed out or failed, and when they may go again. */
  readonly #notBefore = new Map<string, number>();
  #wakeRequested = false;
  #wakeUp: (() => void) | undefined;
  #stopped = false;
  #running: Promise<void> | undefined;
  /** Rounds run so far (for tests and logs). */
  rounds = 0;

  constructor(config: DispatcherConfig, hooks: DispatcherHooks<E>) {
    this.#config = config;
    this.#hooks = hooks;
  }

  /** How many forwards are in flight. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** True while `uuid` is being forwarded. */
  isInFlight(uuid: string): boolean {
    return this.#inFlight.has(uuid);
  }

  /** Starts the rounds. Idempotent. */
  start(): void {
    this.#running ??= this.#run();
  }

  /** Asks for a round as soon as the current one (if any) ends. */
  wake(): void {
    this.#wakeRequested = true;
    const w = this.#wakeUp;
    this.#wakeUp = undefined;
    w?.();
  }

  /** Forgets that `service` was up (a forward to it timed out). */
  forgetService(service: string): void {
    this.#upUntil.delete(service);
  }

  /** Forgets what it kept about `uuid` (the request was closed). */
  forget(uuid: string): void {
    this.#notBefore.delete(uuid);
  }

  /** Ends the rounds and waits for the forwards in flight to end. Idempotent. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.wake();
    await this.#running;
    await Promise.all(this.#inFlight.values());
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      this.#wakeRequested = false;
      try {
        await this.#round();
      } catch (err) {
        log.error("titanic dispatcher: a round failed: %s", (err as Error)?.stack ?? String(err));
      }
      if (this.#stopped) break;
      if (!this.#wakeRequested) await this.#nap();
    }
  }

  /** Waits for a wake-up or the interval. */
  #nap(): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#wakeUp = undefined;
        resolve();
      }, this.#config.intervalMs);
      this.#wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  async #round(): Promise<void> {
    this.rounds++;
    const { concurrency } = this.#config;
    if (this.#inFlight.size >= concurrency) return;
    const verdict = new Map<string, boolean>();
    for (const entry of this.#hooks.pending()) {
      if (this.#stopped || this.#inFlight.size >= concurrency) return;
      const service = entry.service;
      if (service === undefined || this.#inFlight.has(entry.uuid)) continue;
      const notBefore = this.#notBefore.get(entry.uuid);
      if (notBefore !== undefined) {
        if (notBefore > performance.now()) continue;
        this.#notBefore.delete(entry.uuid);
      }
      let up = verdict.get(service);
      if (up === undefined) {
        const answer = await this.#isUp(service);
        if (answer === undefined) return; // the broker does not answer: wait for the next round
        verdict.set(service, answer);
        up = answer;
        if (this.#stopped || this.#inFlight.size >= concurrency) return;
      }
      if (!up || !this.#hooks.stillPending(entry) || this.#inFlight.has(entry.uuid)) continue;
      this.#launch(entry, service);
    }
  }

  async #isUp(service: string): Promise<boolean | undefined> {
    const until = this.#upUntil.get(service);
    if (until !== undefined && until > performance.now()) return true;
    const up = await this.#hooks.serviceUp(service);
    if (up === true) this.#upUntil.set(service, performance.now() + this.#config.intervalMs);
    else this.#upUntil.delete(service);
    return up;
  }

  #launch(entry: E, service: string): void {
    const done = this.#hooks
      .forward(entry)
      .then(
        (result) => {
          if (result === "timeout") this.forgetService(service);
          // not again before the next interval: a failing forward must not spin
          if (result === "timeout" || result === "failed") this.#notBefore.set(entry.uuid, performance.now() + this.#config.intervalMs / 2);
          else this.#notBefore.delete(entry.uuid);
        },
        (err: unknown) => {
          this.#notBefore.set(entry.uuid, performance.now() + this.#config.intervalMs / 2);
          log.error("titanic dispatcher: forwarding %s failed: %s", entry.uuid, (err as Error)?.stack ?? String(err));
        },
      )
      .finally(() => {
        this.#inFlight.delete(entry.uuid);
        if (!this.#stopped) this.wake();
      });
    this.#inFlight.set(entry.uuid, done);
  }
}
