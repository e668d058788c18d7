/**
 * The XPUB socket class behind `ZSocket<"XPUB">`: zeromq.js's XPublisher
 * plus what a Last Value Cache needs, manual subscriptions set with
 * `subscribe()` and libzmq's draft option `ZMQ_XPUB_MANUAL_LAST_VALUE`, and
 * without zeromq.js's false warning when `manual` changes after a bind.
 * @module
 */
import * as zmq from "zeromq";

const ZMQ_SUBSCRIBE = 6;
const ZMQ_UNSUBSCRIBE = 7;
const ZMQ_XPUB_MANUAL = 71;
const ZMQ_XPUB_MANUAL_LAST_VALUE = 98;

/** What zeromq.js prints when any option but a few is set after bind/connect. */
const LATE_OPTION_WARNING = "Socket option will not take effect until next connect/bind.";

interface OptionSetters {
  setBoolOption(option: number, value: boolean): void;
  setStringOption(option: number, value: string | Buffer | null): void;
}

/** Sets an option that libzmq applies at once, without zeromq.js's warning that it will not. */
function setAtOnce(sock: zmq.XPublisher, set: (s: OptionSetters) => void): void {
  const emitWarning = process.emitWarning;
  process.emitWarning = function (this: NodeJS.Process, warning: string | Error, ...rest: unknown[]): void {
    if ((typeof warning === "string" ? warning : warning?.message) === LATE_OPTION_WARNING) return;
    (emitWarning as (...args: unknown[]) => void).call(process, warning, ...rest);
  } as typeof process.emitWarning;
  try {
    set(sock as unknown as OptionSetters);
  } finally {
    process.emitWarning = emitWarning;
  }
}

/**
 * zeromq.js's XPublisher with `manualLastValue`, `subscribe()` and
 * `unsubscribe()` for manual mode, and a `manual` that may change after a
 * bind (libzmq reads it on every subscription) without a warning.
 * @internal
 */
export class XPublisher extends zmq.XPublisher {
  /**
   * In manual mode: subscribes the peer whose subscription message was
   * received last to each prefix (`ZMQ_SUBSCRIBE` on an XPUB).
   */
  subscribe(...prefixes: (string | Buffer)[]): void {
    for (const p of prefixes) (this as unknown as OptionSetters).setStringOption(ZMQ_SUBSCRIBE, p);
  }

  /** In manual mode: removes the last sender's subscription to each prefix (`ZMQ_UNSUBSCRIBE`). */
  unsubscribe(...prefixes: (string | Buffer)[]): void {
    for (const p of prefixes) (this as unknown as OptionSetters).setStringOption(ZMQ_UNSUBSCRIBE, p);
  }
}

// Accessors defined here rather than in the class: TypeScript does not let
// an accessor override what zeromq.js declares as a property. Write-only,
// like zeromq.js's own `manual`.
Object.defineProperty(XPublisher.prototype, "manual", {
  set(this: XPublisher, value: boolean) {
    setAtOnce(this, (s) => s.setBoolOption(ZMQ_XPUB_MANUAL, value));
  },
});
Object.defineProperty(XPublisher.prototype, "manualLastValue", {
  set(this: XPublisher, value: boolean) {
    setAtOnce(this, (s) => s.setBoolOption(ZMQ_XPUB_MANUAL_LAST_VALUE, value));
  },
});
