/**
 * One abort listener per AbortSignal, however many requests share it: an
 * application that passes one signal to hundreds of requests in flight adds
 * one listener to it, not hundreds (Node warns past 10).
 * @module
 */

interface Watch {
  readonly callbacks: Set<() => void>;
  readonly listener: () => void;
}

/** Watches signals on behalf of many requests. @internal */
export class SignalWatches {
  readonly #watches = new Map<AbortSignal, Watch>();

  /**
   * Calls `onAbort` once when `signal` aborts.
   * @returns a function that stops watching (call it when the request settles)
   */
  watch(signal: AbortSignal, onAbort: () => void): () => void {
    let w = this.#watches.get(signal);
    if (w === undefined) {
      const callbacks = new Set<() => void>();
      const listener = (): void => {
        this.#watches.delete(signal);
        for (const f of [...callbacks]) f();
      };
      w = { callbacks, listener };
      this.#watches.set(signal, w);
      signal.addEventListener("abort", listener, { once: true });
    }
    const watch = w;
    const callback = (): void => onAbort();
    watch.callbacks.add(callback);
    return () => {
      if (!watch.callbacks.delete(callback) || watch.callbacks.size > 0) return;
      signal.removeEventListener("abort", watch.listener);
      if (this.#watches.get(signal) === watch) this.#watches.delete(signal);
    };
  }
}
