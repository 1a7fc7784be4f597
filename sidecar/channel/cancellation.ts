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

/**
 * What runs on cancellation: a function, or an object whose `handleEvent()` runs (as EventTarget
 * takes it), which lets a per-call object listen without a closure.
 */
export type CancelListener = (() => void) | { handleEvent(): void };

function run(listener: CancelListener): void {
  if (typeof listener === 'function') listener();
  else listener.handleEvent();
}

/** A cancellation source and signal in one object. */
export class Cancellation {
  #aborted = false;
  #reason: unknown;
  /** The first listener, and any later ones: a call usually has one (no array for it). */
  #listener: CancelListener | undefined;
  #more: CancelListener[] | undefined;
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
    const first = this.#listener;
    const more = this.#more;
    this.#listener = undefined;
    this.#more = undefined;
    if (first !== undefined) run(first);
    if (more !== undefined) for (const l of more) run(l);
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
    this.addListener(fn);
    return () => this.removeListener(fn);
  }

  /** As `listen`, without making an unsubscribe function: `removeListener` takes `listener` back. */
  addListener(listener: CancelListener): void {
    if (this.#aborted) return;
    // The single slot only while it would run first: listeners run in the order they were added.
    if (this.#listener === undefined && (this.#more === undefined || this.#more.length === 0))
      this.#listener = listener;
    else if (this.#more === undefined) this.#more = [listener];
    else this.#more.push(listener);
  }

  /** Removes `listener` (its first registration) if it has not run. */
  removeListener(listener: CancelListener): void {
    if (this.#listener === listener) {
      this.#listener = undefined;
      return;
    }
    const i = this.#more?.indexOf(listener) ?? -1;
    if (i >= 0) this.#more?.splice(i, 1);
  }
}

/** Runs `fn` once when `signal` is cancelled; returns a function that unsubscribes. */
export function onCancel(signal: CancelSignal | undefined, fn: () => void): () => void {
  if (signal === undefined) return NOOP;
  if (signal instanceof Cancellation) return signal.listen(fn);
  signal.addEventListener('abort', fn, { once: true });
  return () => signal.removeEventListener('abort', fn);
}

/** Runs `listener` once when `signal` is cancelled, until `removeCancelListener` takes it back. */
export function addCancelListener(signal: CancelSignal | undefined, listener: CancelListener): void {
  if (signal === undefined) return;
  if (signal instanceof Cancellation) signal.addListener(listener);
  else signal.addEventListener('abort', listener, { once: true });
}

/** Undoes `addCancelListener`. */
export function removeCancelListener(signal: CancelSignal | undefined, listener: CancelListener): void {
  if (signal === undefined) return;
  if (signal instanceof Cancellation) signal.removeListener(listener);
  else signal.removeEventListener('abort', listener);
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
