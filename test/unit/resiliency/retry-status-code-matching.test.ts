import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConstantBackoff } from '../../../sidecar/resiliency/backoff.js';
import { StatusCodeError } from '../../../sidecar/resiliency/errors.js';
import { RetryPolicy } from '../../../sidecar/resiliency/retry-policy.js';
import {
  GRPC_CODES,
  HTTP_CODES,
  parseCodeRanges,
  StatusCodeMatcher,
  statusCodeOf,
} from '../../../sidecar/resiliency/status-codes.js';
import { FakeClock, flaky } from './fake-clock.js';

function matcher(http?: string, grpc?: string): StatusCodeMatcher {
  const h = http === undefined ? undefined : parseCodeRanges(http, HTTP_CODES);
  const g = grpc === undefined ? undefined : parseCodeRanges(grpc, GRPC_CODES);
  assert.ok(typeof h !== 'string' && typeof g !== 'string');
  return new StatusCodeMatcher(h, g);
}

describe('retry status code matching', () => {
  it('parses codes and inclusive ranges, ignoring empty entries', () => {
    assert.deepEqual(parseCodeRanges('500-599,408', HTTP_CODES), [
      { start: 500, end: 599 },
      { start: 408, end: 408 },
    ]);
    assert.deepEqual(parseCodeRanges('429, 500,,', HTTP_CODES), [
      { start: 429, end: 429 },
      { start: 500, end: 500 },
    ]);
    assert.equal(parseCodeRanges('', HTTP_CODES), undefined);
  });

  it('rejects malformed patterns with a message naming them', () => {
    assert.match(parseCodeRanges('199-299-300', HTTP_CODES) as string, /199-299-300.*more than one '-'/);
    assert.match(parseCodeRanges('399-299', HTTP_CODES) as string, /start is greater than end/);
    assert.match(parseCodeRanges('1,2', HTTP_CODES) as string, /outside 100-599/);
    assert.match(parseCodeRanges('17', GRPC_CODES) as string, /outside 0-16/);
    assert.match(parseCodeRanges('abc', HTTP_CODES) as string, /not a code/);
    assert.match(parseCodeRanges('-1', GRPC_CODES) as string, /not a code/);
  });

  it('HTTP codes match the HTTP list and gRPC codes the gRPC list; a missing list matches all', () => {
    const m = matcher('429,500-599', '4,8-11');
    assert.equal(m.allows(503), true);
    assert.equal(m.allows(429), true);
    assert.equal(m.allows(404), false);
    assert.equal(m.allows(9), true);
    assert.equal(m.allows(14), false);
    const httpOnly = matcher('500');
    assert.equal(httpOnly.allows(14), true, 'no gRPC list: every gRPC code is retried');
    assert.equal(httpOnly.allows(502), false);
  });

  it('finds status codes on StatusCodeError, statusCode properties and grpc-js errors', () => {
    assert.equal(statusCodeOf(new StatusCodeError(503)), 503);
    assert.equal(statusCodeOf(Object.assign(new Error('grpc'), { code: 14 })), 14);
    assert.equal(statusCodeOf(Object.assign(new Error('sys'), { code: 'ECONNREFUSED' })), undefined);
    assert.equal(statusCodeOf(new Error('plain')), undefined);
  });

  it('does not retry a failure whose code is outside `matching`', async () => {
    const clock = new FakeClock();
    const policy = new RetryPolicy({
      backoff: new ConstantBackoff(10),
      maxRetries: 5,
      matching: matcher('500-599'),
      clock,
    });
    const op = flaky(3, 'ok', () => new StatusCodeError(404));
    await assert.rejects(
      clock.drive(policy.execute(op.fn)),
      (e: unknown) => e instanceof StatusCodeError && e.statusCode === 404,
    );
    assert.equal(op.calls(), 1);
  });

  it('retries a failure whose code is in `matching`, and any failure without a code', async () => {
    const clock = new FakeClock();
    const policy = new RetryPolicy({
      backoff: new ConstantBackoff(10),
      maxRetries: 5,
      matching: matcher('500-599'),
      clock,
    });
    const op = flaky(3, 'ok', (n) => (n === 2 ? new Error('connection reset') : new StatusCodeError(503)));
    assert.equal(await clock.drive(policy.execute(op.fn)), 'ok');
    assert.equal(op.calls(), 4);
  });

  it('a resolved result classified as a failure is retried, and intermediate results are disposed', async () => {
    const clock = new FakeClock();
    const policy = new RetryPolicy({
      backoff: new ConstantBackoff(10),
      maxRetries: 5,
      matching: matcher('500-599'),
      clock,
    });
    const statuses = [503, 502, 200];
    let calls = 0;
    const disposed: number[] = [];
    const result = await clock.drive(
      policy.execute(async () => ({ status: statuses[calls++] as number }), {
        failureOf: (r) => (r.status >= 400 ? r.status : undefined),
        dispose: (r) => disposed.push(r.status),
      }),
    );
    assert.deepEqual(result, { status: 200 });
    assert.deepEqual(disposed, [503, 502]);
  });

  it('when retries run out on failed results, execute resolves with the last result', async () => {
    const clock = new FakeClock();
    const policy = new RetryPolicy({ backoff: new ConstantBackoff(10), maxRetries: 2, clock });
    let calls = 0;
    const disposed: number[] = [];
    const result = await clock.drive(
      policy.execute(async () => ({ status: 503, n: ++calls }), {
        failureOf: (r) => r.status,
        dispose: (r) => disposed.push(r.n),
      }),
    );
    assert.deepEqual(result, { status: 503, n: 3 });
    assert.deepEqual(disposed, [1, 2]);
  });

  it('a failed result whose status is not matched is returned at once', async () => {
    const clock = new FakeClock();
    const policy = new RetryPolicy({
      backoff: new ConstantBackoff(10),
      maxRetries: 5,
      matching: matcher('500-599'),
      clock,
    });
    let calls = 0;
    const result = await clock.drive(
      policy.execute(async () => ({ status: 404, n: ++calls }), {
        failureOf: (r) => (r.status >= 400 ? r.status : undefined),
      }),
    );
    assert.deepEqual(result, { status: 404, n: 1 });
  });

  it('a per-call shouldRetry narrows what the policy retries', async () => {
    const clock = new FakeClock();
    const policy = new RetryPolicy({ backoff: new ConstantBackoff(10), maxRetries: 5, clock });
    const op = flaky(3, 'ok', () => Object.assign(new Error('denied'), { code: 7 }));
    await assert.rejects(
      clock.drive(policy.execute(op.fn, { shouldRetry: (e) => (e as { code: number }).code === 14 })),
      /denied/,
    );
    assert.equal(op.calls(), 1);
  });
});
