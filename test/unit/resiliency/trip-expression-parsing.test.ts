import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type BreakerCounts,
  TripExpression,
  TripExpressionError,
} from '../../../sidecar/resiliency/trip-expression.js';

const counts = (c: Partial<BreakerCounts> = {}): BreakerCounts => ({
  requests: 0,
  totalSuccesses: 0,
  totalFailures: 0,
  consecutiveSuccesses: 0,
  consecutiveFailures: 0,
  ...c,
});

function rejects(source: string, column: number, reason: RegExp): void {
  assert.throws(
    () => TripExpression.compile(source),
    (e: unknown) => {
      assert.ok(e instanceof TripExpressionError, `expected TripExpressionError for ${source}`);
      assert.equal(e.column, column, `column for ${JSON.stringify(source)}: ${e.message}`);
      assert.match(e.reason, reason);
      assert.ok(e.message.includes(`"${source}"`), 'the message names the expression');
      return true;
    },
  );
}

describe('trip expression parsing and evaluation', () => {
  it('evaluates the expressions of Dapr documentation', () => {
    assert.equal(
      TripExpression.compile('consecutiveFailures > 5').evaluate(counts({ consecutiveFailures: 6 })),
      true,
    );
    assert.equal(
      TripExpression.compile('consecutiveFailures > 5').evaluate(counts({ consecutiveFailures: 5 })),
      false,
    );
    assert.equal(TripExpression.compile('requests > 5').evaluate(counts({ requests: 6 })), true);
    assert.equal(TripExpression.compile('totalFailures >3').evaluate(counts({ totalFailures: 4 })), true);
  });

  it('supports all five counters, comparisons, && || ! and parentheses', () => {
    const e = TripExpression.compile(
      '(consecutiveFailures >= 3 || totalFailures > 10) && !(totalSuccesses == 0) && consecutiveSuccesses != 1 && requests <= 100',
    );
    assert.equal(e.evaluate(counts({ consecutiveFailures: 3, totalSuccesses: 1, requests: 50 })), true);
    assert.equal(e.evaluate(counts({ consecutiveFailures: 3, totalSuccesses: 0, requests: 50 })), false);
    assert.equal(
      e.evaluate(counts({ totalFailures: 11, totalSuccesses: 2, consecutiveSuccesses: 1 })),
      false,
    );
    assert.equal(e.evaluate(counts({ totalFailures: 11, totalSuccesses: 2, requests: 101 })), false);
  });

  it('follows CEL precedence: && binds tighter than ||, * tighter than +', () => {
    assert.equal(TripExpression.compile('true || false && false').evaluate(counts()), true);
    assert.equal(TripExpression.compile('(true || false) && false').evaluate(counts()), false);
    assert.equal(TripExpression.compile('2 + 3 * 4 == 14').evaluate(counts()), true);
    assert.equal(TripExpression.compile('10 - 4 - 3 == 3').evaluate(counts()), true, 'left associative');
    assert.equal(TripExpression.compile('-3 + 5 == 2 && --2 == 2 && !!true').evaluate(counts()), true);
  });

  it('uses integer arithmetic: truncating division and modulo with the sign of the dividend', () => {
    assert.equal(
      TripExpression.compile('totalFailures * 100 / requests >= 50').evaluate(
        counts({ totalFailures: 5, requests: 9 }),
      ),
      true,
    );
    assert.equal(
      TripExpression.compile('7 / 2 == 3 && -7 / 2 == -3 && -7 % 3 == -1').evaluate(counts()),
      true,
    );
    assert.equal(TripExpression.compile('0x10 == 16').evaluate(counts()), true);
  });

  it('does not trip when evaluation fails (division by zero, overflow)', () => {
    const ratio = TripExpression.compile('totalFailures * 100 / requests > 50');
    assert.equal(ratio.evaluate(counts({ totalFailures: 1, requests: 0 })), false);
    assert.equal(
      TripExpression.compile('9223372036854775807 + requests > 0').evaluate(counts({ requests: 1 })),
      false,
    );
  });

  it('&& and || absorb errors like CEL: false && error is false, true || error is true', () => {
    assert.equal(
      TripExpression.compile('requests / 0 > 1 || totalFailures > 2').evaluate(counts({ totalFailures: 3 })),
      true,
    );
    assert.equal(
      TripExpression.compile('requests / 0 > 1 && totalFailures > 2').evaluate(counts({ totalFailures: 1 })),
      false,
    );
  });

  it('keeps its source text', () => {
    assert.equal(String(TripExpression.compile('requests > 1')), 'requests > 1');
  });

  it('rejects unknown variables at compile time, naming them and the column', () => {
    rejects('consecutiveFailure > 5', 1, /undeclared reference to 'consecutiveFailure'/);
    rejects('requests > 1 && failures > 2', 17, /undeclared reference to 'failures'/);
  });

  it('rejects syntax errors with their column', () => {
    rejects('consecutiveFailures >> 5', 22, /unexpected '>'/);
    rejects('consecutiveFailures > ', 23, /unexpected end/);
    rejects('(requests > 1', 14, /missing '\)'/);
    rejects('requests > 1)', 13, /unexpected '\)'/);
    rejects('requests = 1', 10, /did you mean '=='/);
    rejects('requests > 1 & true', 14, /did you mean '&&'/);
    rejects('', 1, /empty/);
    rejects('requests > 5 extra', 14, /unexpected 'extra'/);
  });

  it('rejects CEL features outside the subset', () => {
    rejects('requests > 5.0', 12, /floating-point/);
    rejects('requests > 5u', 12, /unsigned/);
    rejects('requests > "5"', 12, /string literals/);
    rejects('size(requests) > 1', 1, /function calls/);
    rejects('requests.x > 1', 9, /field and index access/);
    rejects('requests > 1 ? true : false', 14, /conditional operator/);
    rejects('requests > 99999999999999999999', 12, /overflows int64/);
  });

  it('rejects ill-typed expressions', () => {
    rejects('requests + 1', 1, /must be a boolean, got int/);
    rejects('requests && true', 10, /needs \(bool, bool\)/);
    rejects('!requests', 1, /needs a bool/);
    rejects('-true == 1', 1, /needs an int/);
    rejects('true > false', 6, /needs \(int, int\)/);
    rejects('requests == true', 10, /same type/);
    rejects('1 < requests < 3', 14, /needs \(int, int\)/);
  });
});
