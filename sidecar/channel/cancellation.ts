/**
 * Cancellation of one call without an AbortController per call. On Node 20 every AbortSignal
 * outlives the young generation: at 1000 invocations/s an AbortController per call meant a
 * mark-compact about every second on each sidecar, with pauses of several milliseconds in the
 * latency tail (bench/invoke.ts, `--trace-gc`). The hot path passes a `Cancellation` instead, a
 * plain object, and a real AbortSignal is made only for the APIs that need one (`toAbortSignal`).
 */

/** What a call can be cancelled through: a standard AbortSignal or a `Cancellation`. */
export type CancelSignal = AbortSignal | Cancellation;

const NOOP = (): void => {};

/** A cancellation source and signal in one object. */
export class Cancellation {
  #aborted = false;
  #reason: unknown;
  #listeners: (() => void)[] | undefined;
  #controller: AbortController | undefined;

  /** Whether `cancel` was called. */
  get aborted(): boolean {
    return this.#aborted;
  }

  /** What `cancel` was given (an AbortError DOMException by default, as AbortController.abort). */
  get reason(): unknown {
    return this.#reason;
  }

  /** Cancels: runs each listener once, aborts the AbortSignal if one was made. Idempotent. */
  cancel(reason: unknown = new DOMException('This operation was aborted', 'AbortError')): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    const listeners = this.#listeners;
    this.#listeners = undefined;
    if (listeners !== undefined) for (const fn of listeners) fn();
    this.#controller?.abort(reason);
  }

  /** A standard AbortSignal that follows this cancellation, made on first use. */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /** Runs `fn` once on cancellation (listeners of an already cancelled object never run); returns the unsubscribe. */
  listen(fn: () => void): () => void {
    if (this.#aborted) return NOOP;
    this.#listeners ??= [];
    this.#listeners.push(fn);
    return () => {
      const i = this.#listeners?.indexOf(fn) ?? -1;
      if (i >= 0) this.#listeners?.splice(i, 1);
    };
  }
}

/** Runs `fn` once when `signal` is cancelled; returns a function that unsubscribes. */
export function onCancel(signal: CancelSignal | undefined, fn: () => void): () => void {
  if (signal === undefined) return NOOP;
  if (signal instanceof Cancellation) return signal.listen(fn);
  signal.addEventListener('abort', fn, { once: true });
  return () => signal.removeEventListener('abort', fn);
}

/** An AbortSignal for APIs that require one. */
export function toAbortSignal(signal: CancelSignal): AbortSignal {
  return signal instanceof Cancellation ? signal.signal : signal;
}

/**
 * The error a cancelled call fails with: what node:http's `signal` option produces (an Error named
 * AbortError, code ABORT_ERR, with the signal's reason as cause).
 */
export function abortError(signal?: CancelSignal): Error {
  return Object.assign(new Error('The operation was aborted', { cause: signal?.reason }), {
    name: 'AbortError',
    code: 'ABORT_ERR',
  });
}

/** Throws the signal's reason when it is cancelled (AbortSignal.throwIfAborted for both kinds). */
export function throwIfCancelled(signal: CancelSignal | undefined): void {
  if (signal?.aborted === true) throw signal.reason;
}
