/**
 * The policy contract (cockatiel's shape): `execute(fn, signal)` runs `fn` under the policy and
 * passes an AbortSignal to every attempt; `wrap(...)` nests policies, outermost first.
 */
import { abortReason } from './clock.js';
import { ResultFailure } from './errors.js';

/** The operation a policy runs; it must stop work when `signal` aborts. */
export type Operation<T> = (signal: AbortSignal) => Promise<T>;

/** Per-call options of `execute`. */
export interface ExecuteOptions<T> {
  /** The caller's signal: aborting it stops the call and any pending retry promptly. */
  readonly signal?: AbortSignal;
  /**
   * Classifies resolved results. Return a status code (or `true`) when the result is a failure
   * (e.g. an HTTP response with status 503): breakers count it and retries retry it, subject to
   * `matching`. When retries end, `execute` resolves with the last result rather than throwing.
   */
  readonly failureOf?: (result: T) => number | boolean | undefined;
  /** Called with every result that is discarded: retried failures and results arriving after a timeout or abort. */
  readonly dispose?: (result: T) => void;
  /** Extra per-call retry predicate; a failure is retried only if this also returns true. */
  readonly shouldRetry?: (error: unknown) => boolean;
}

/** Mutable state of one `execute` call, shared by all nested policies. */
export interface ExecutionState {
  /** Dapr counts a timeout activation at most once per call. */
  timeoutActivated: boolean;
}

/** What nested policies receive for one attempt. */
export interface RunContext {
  readonly signal: AbortSignal;
  readonly dispose: (result: unknown) => void;
  readonly shouldRetry: ((error: unknown) => boolean) | undefined;
  readonly execution: ExecutionState;
}

/** A resiliency policy. */
export interface Policy {
  /** Runs `fn` under this policy. */
  execute<T>(fn: Operation<T>, options?: AbortSignal | ExecuteOptions<T>): Promise<T>;
  /** Runs `fn` inside an enclosing policy's call; used by `wrap`, not by callers. */
  run<T>(fn: Operation<T>, ctx: RunContext): Promise<T>;
}

const NEVER_ABORTED = new AbortController().signal;

/** Releases a value that will not be returned to the caller. */
export function disposeOutcome(ctx: Pick<RunContext, 'dispose'>, outcome: unknown): void {
  if (outcome instanceof ResultFailure) ctx.dispose(outcome.result);
}

/** Base class: implements `execute` once (classification, abort, unwrapping) over `run`. */
export abstract class BasePolicy implements Policy {
  abstract run<T>(fn: Operation<T>, ctx: RunContext): Promise<T>;

  async execute<T>(fn: Operation<T>, options?: AbortSignal | ExecuteOptions<T>): Promise<T> {
    const opts: ExecuteOptions<T> = options instanceof AbortSignal ? { signal: options } : (options ?? {});
    const signal = opts.signal ?? NEVER_ABORTED;
    if (signal.aborted) throw abortReason(signal);
    const userDispose = opts.dispose;
    const ctx: RunContext = {
      signal,
      dispose: (result) => {
        if (userDispose) {
          try {
            userDispose(result as T);
          } catch {
            // A failing disposer must not change the outcome of the call.
          }
        }
      },
      shouldRetry: opts.shouldRetry,
      execution: { timeoutActivated: false },
    };
    const failureOf = opts.failureOf;
    const op: Operation<T> =
      failureOf === undefined
        ? fn
        : async (s) => {
            const result = await fn(s);
            const verdict = failureOf(result);
            if (verdict === undefined || verdict === false) return result;
            throw new ResultFailure(result, typeof verdict === 'number' ? verdict : undefined);
          };
    try {
      return await raceAbort(this.run(op, ctx), signal, ctx);
    } catch (err) {
      if (err instanceof ResultFailure) return err.result as T;
      throw err;
    }
  }
}

/** Settles with `promise`, or rejects as soon as `signal` aborts (a late outcome is disposed). */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal, ctx: RunContext): Promise<T> {
  if (signal === NEVER_ABORTED) return promise;
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const onAbort = (): void => {
      if (done) return;
      done = true;
      reject(abortReason(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        if (done) ctx.dispose(value);
        else {
          done = true;
          resolve(value);
        }
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        if (done) disposeOutcome(ctx, err);
        else {
          done = true;
          reject(err);
        }
      },
    );
  });
}

/** Runs `fn` with no policy (Dapr's nil PolicyDefinition). */
export class NoopPolicy extends BasePolicy {
  run<T>(fn: Operation<T>, ctx: RunContext): Promise<T> {
    return invoke(fn, ctx.signal);
  }
}

/** Several policies nested, the first outermost: `wrap(retry, breaker, timeout)` is Dapr's order. */
export class WrappedPolicy extends BasePolicy {
  readonly policies: readonly Policy[];
  constructor(policies: readonly Policy[]) {
    super();
    this.policies = Object.freeze([...policies]);
  }

  run<T>(fn: Operation<T>, ctx: RunContext): Promise<T> {
    let op = fn;
    for (let i = this.policies.length - 1; i >= 0; i--) {
      const policy = this.policies[i] as Policy;
      const inner = op;
      op = (signal) => policy.run(inner, { ...ctx, signal });
    }
    return op(ctx.signal);
  }
}

/** Nests policies, outermost first. */
export function wrap(...policies: Policy[]): WrappedPolicy {
  return new WrappedPolicy(policies);
}

/** Calls `fn(signal)`, turning a synchronous throw into a rejection. */
export function invoke<T>(fn: Operation<T>, signal: AbortSignal): Promise<T> {
  try {
    return fn(signal);
  } catch (err) {
    return Promise.reject(err);
  }
}
