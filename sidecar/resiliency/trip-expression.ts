/**
 * The circuit breaker `trip` expression: the subset of CEL that Dapr users write, parsed,
 * type-checked and evaluated here. Supported: integer literals (decimal, 0x hex), `true`/`false`,
 * the five counters, `+ - * / %`, comparisons `< <= > >= == !=`, `!`, `&&`, `||` and parentheses,
 * with CEL's precedence and int64 arithmetic. Everything else is rejected when the resource is
 * compiled, naming the expression and the column.
 *
 * Dapr (pkg/expr) compiles with cel-go and declares unknown identifiers as `dyn`, so a misspelled
 * counter compiles there and then silently never trips; here it is a compile error.
 */

/** The counters a trip expression sees (gobreaker's `Counts`). */
export interface BreakerCounts {
  readonly requests: number;
  readonly totalSuccesses: number;
  readonly totalFailures: number;
  readonly consecutiveSuccesses: number;
  readonly consecutiveFailures: number;
}

/** The variables a trip expression may use. */
export const TRIP_VARIABLES: readonly (keyof BreakerCounts)[] = Object.freeze([
  'requests',
  'totalSuccesses',
  'totalFailures',
  'consecutiveSuccesses',
  'consecutiveFailures',
]);

/** A trip expression that does not compile. `column` is 1-based. */
export class TripExpressionError extends Error {
  override readonly name = 'TripExpressionError';
  readonly expression: string;
  readonly column: number;
  readonly reason: string;
  constructor(expression: string, offset: number, reason: string) {
    super(`invalid trip expression "${expression}" at column ${offset + 1}: ${reason}`);
    this.expression = expression;
    this.column = offset + 1;
    this.reason = reason;
  }
}

type Token =
  | { readonly kind: 'int'; readonly value: bigint; readonly pos: number; readonly text: string }
  | { readonly kind: 'ident'; readonly name: string; readonly pos: number; readonly text: string }
  | { readonly kind: 'op'; readonly op: string; readonly pos: number; readonly text: string }
  | { readonly kind: 'eof'; readonly pos: number; readonly text: string };

type Node =
  | { readonly kind: 'int'; readonly value: bigint; readonly pos: number }
  | { readonly kind: 'bool'; readonly value: boolean; readonly pos: number }
  | { readonly kind: 'var'; readonly name: keyof BreakerCounts; readonly pos: number }
  | { readonly kind: 'unary'; readonly op: '!' | '-'; readonly operand: Node; readonly pos: number }
  | {
      readonly kind: 'binary';
      readonly op: string;
      readonly left: Node;
      readonly right: Node;
      readonly pos: number;
    };

type ValueType = 'int' | 'bool';

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);
const TWO_CHAR_OPS = new Set(['||', '&&', '==', '!=', '<=', '>=']);
const ONE_CHAR_OPS = new Set(['<', '>', '+', '-', '*', '/', '%', '!', '(', ')']);
const VARIABLES = new Set<string>(TRIP_VARIABLES);

function tokenize(expr: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < expr.length) {
    const c = expr[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (/[0-9]/.test(c)) {
      const hex = /^0[xX][0-9a-fA-F]+/.exec(expr.slice(i));
      const m = hex ?? /^[0-9]+/.exec(expr.slice(i));
      const text = (m as RegExpExecArray)[0];
      const after = expr[i + text.length] ?? '';
      if (after === '.' || /[eE]/.test(after)) {
        throw new TripExpressionError(expr, i, 'floating-point literals are not supported; use an integer');
      }
      if (after === 'u' || after === 'U')
        throw new TripExpressionError(expr, i, 'unsigned literals are not supported');
      if (/[A-Za-z_]/.test(after))
        throw new TripExpressionError(expr, i + text.length, `unexpected character '${after}'`);
      const value = BigInt(text);
      if (value > INT64_MAX)
        throw new TripExpressionError(expr, i, `integer literal ${text} overflows int64`);
      tokens.push({ kind: 'int', value, pos: i, text });
      i += text.length;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const text = (/^[A-Za-z_][A-Za-z0-9_]*/.exec(expr.slice(i)) as RegExpExecArray)[0];
      tokens.push({ kind: 'ident', name: text, pos: i, text });
      i += text.length;
      continue;
    }
    const two = expr.slice(i, i + 2);
    if (TWO_CHAR_OPS.has(two)) {
      tokens.push({ kind: 'op', op: two, pos: i, text: two });
      i += 2;
      continue;
    }
    if (ONE_CHAR_OPS.has(c)) {
      tokens.push({ kind: 'op', op: c, pos: i, text: c });
      i++;
      continue;
    }
    if (c === '"' || c === "'") throw new TripExpressionError(expr, i, 'string literals are not supported');
    if (c === '.' || c === '[')
      throw new TripExpressionError(expr, i, 'field and index access are not supported');
    if (c === '?' || c === ':')
      throw new TripExpressionError(expr, i, 'the conditional operator ?: is not supported');
    if (c === '=' || c === '&' || c === '|') {
      throw new TripExpressionError(
        expr,
        i,
        `unexpected '${c}' (did you mean '${c === '=' ? '==' : c + c}'?)`,
      );
    }
    throw new TripExpressionError(expr, i, `unexpected character '${c}'`);
  }
  tokens.push({ kind: 'eof', pos: expr.length, text: '' });
  return tokens;
}

/** Recursive-descent parser with CEL's precedence: `||` < `&&` < relations < `+ -` < `* / %` < unary. */
class Parser {
  private index = 0;
  constructor(
    private readonly expr: string,
    private readonly tokens: readonly Token[],
  ) {}

  parse(): Node {
    if (this.peek().kind === 'eof') throw new TripExpressionError(this.expr, 0, 'expression is empty');
    const node = this.or();
    const t = this.peek();
    if (t.kind !== 'eof') throw this.unexpected(t);
    return node;
  }

  private peek(): Token {
    return this.tokens[this.index] as Token;
  }

  private next(): Token {
    return this.tokens[this.index++] as Token;
  }

  private isOp(...ops: string[]): string | undefined {
    const t = this.peek();
    return t.kind === 'op' && ops.includes(t.op) ? t.op : undefined;
  }

  private unexpected(t: Token): TripExpressionError {
    if (t.kind === 'eof') return new TripExpressionError(this.expr, t.pos, 'unexpected end of expression');
    if (t.kind === 'ident' && this.tokens[this.index + 1]?.text === '(') {
      return new TripExpressionError(this.expr, t.pos, `function calls are not supported ('${t.name}(...)')`);
    }
    return new TripExpressionError(this.expr, t.pos, `unexpected '${t.text}'`);
  }

  private binaryLevel(ops: string[], operand: () => Node): Node {
    let left = operand();
    for (let op = this.isOp(...ops); op !== undefined; op = this.isOp(...ops)) {
      const pos = this.next().pos;
      const right = operand();
      left = { kind: 'binary', op, left, right, pos };
    }
    return left;
  }

  private or(): Node {
    return this.binaryLevel(['||'], () => this.and());
  }

  private and(): Node {
    return this.binaryLevel(['&&'], () => this.relation());
  }

  private relation(): Node {
    return this.binaryLevel(['<', '<=', '>', '>=', '==', '!='], () => this.additive());
  }

  private additive(): Node {
    return this.binaryLevel(['+', '-'], () => this.multiplicative());
  }

  private multiplicative(): Node {
    return this.binaryLevel(['*', '/', '%'], () => this.unary());
  }

  private unary(): Node {
    const op = this.isOp('!', '-');
    if (op === '!' || op === '-') {
      const pos = this.next().pos;
      return { kind: 'unary', op, operand: this.unary(), pos };
    }
    return this.primary();
  }

  private primary(): Node {
    const t = this.next();
    if (t.kind === 'int') return { kind: 'int', value: t.value, pos: t.pos };
    if (t.kind === 'ident') {
      if (this.peek().kind === 'op' && this.peek().text === '(') {
        throw new TripExpressionError(
          this.expr,
          t.pos,
          `function calls are not supported ('${t.name}(...)')`,
        );
      }
      if (t.name === 'true' || t.name === 'false')
        return { kind: 'bool', value: t.name === 'true', pos: t.pos };
      if (!VARIABLES.has(t.name)) {
        throw new TripExpressionError(
          this.expr,
          t.pos,
          `undeclared reference to '${t.name}' (expected one of ${TRIP_VARIABLES.join(', ')})`,
        );
      }
      return { kind: 'var', name: t.name as keyof BreakerCounts, pos: t.pos };
    }
    if (t.kind === 'op' && t.op === '(') {
      const inner = this.or();
      const close = this.next();
      if (close.kind !== 'op' || close.op !== ')') {
        throw new TripExpressionError(
          this.expr,
          close.pos,
          close.kind === 'eof' ? "missing ')'" : `expected ')' but found '${close.text}'`,
        );
      }
      return inner;
    }
    this.index--;
    throw this.unexpected(t);
  }
}

function check(expr: string, node: Node): ValueType {
  switch (node.kind) {
    case 'int':
    case 'var':
      return 'int';
    case 'bool':
      return 'bool';
    case 'unary': {
      const t = check(expr, node.operand);
      const want: ValueType = node.op === '!' ? 'bool' : 'int';
      if (t !== want)
        throw new TripExpressionError(
          expr,
          node.pos,
          `operator '${node.op}' needs ${want === 'int' ? 'an int' : 'a bool'}, got ${t}`,
        );
      return want;
    }
    case 'binary': {
      const l = check(expr, node.left);
      const r = check(expr, node.right);
      const mismatch = (want: string): TripExpressionError =>
        new TripExpressionError(expr, node.pos, `operator '${node.op}' needs ${want}, got (${l}, ${r})`);
      switch (node.op) {
        case '&&':
        case '||':
          if (l !== 'bool' || r !== 'bool') throw mismatch('(bool, bool)');
          return 'bool';
        case '==':
        case '!=':
          if (l !== r) throw mismatch('operands of the same type');
          return 'bool';
        case '<':
        case '<=':
        case '>':
        case '>=':
          if (l !== 'int' || r !== 'int') throw mismatch('(int, int)');
          return 'bool';
        default:
          if (l !== 'int' || r !== 'int') throw mismatch('(int, int)');
          return 'int';
      }
    }
  }
}

class TripEvalError extends Error {}

function int64(v: bigint): bigint {
  if (v > INT64_MAX || v < INT64_MIN) throw new TripEvalError('integer overflow');
  return v;
}

function evaluate(node: Node, vars: Readonly<Record<keyof BreakerCounts, bigint>>): bigint | boolean {
  switch (node.kind) {
    case 'int':
    case 'bool':
      return node.value;
    case 'var':
      return vars[node.name];
    case 'unary': {
      const v = evaluate(node.operand, vars);
      return node.op === '!' ? !v : int64(-(v as bigint));
    }
    case 'binary': {
      if (node.op === '&&' || node.op === '||') {
        // CEL's logical operators are commutative over errors: false && error == false, true || error == true.
        const absorbing = node.op === '||';
        let failure: unknown;
        for (const side of [node.left, node.right]) {
          try {
            if (evaluate(side, vars) === absorbing) return absorbing;
          } catch (err) {
            failure = err;
          }
        }
        if (failure !== undefined) throw failure;
        return !absorbing;
      }
      const l = evaluate(node.left, vars);
      const r = evaluate(node.right, vars);
      switch (node.op) {
        case '==':
          return l === r;
        case '!=':
          return l !== r;
        case '<':
          return l < r;
        case '<=':
          return l <= r;
        case '>':
          return l > r;
        case '>=':
          return l >= r;
        case '+':
          return int64((l as bigint) + (r as bigint));
        case '-':
          return int64((l as bigint) - (r as bigint));
        case '*':
          return int64((l as bigint) * (r as bigint));
        case '/':
          if (r === 0n) throw new TripEvalError('division by zero');
          return int64((l as bigint) / (r as bigint));
        case '%':
          if (r === 0n) throw new TripEvalError('modulus by zero');
          return (l as bigint) % (r as bigint);
        default:
          throw new TripEvalError(`unknown operator ${node.op}`);
      }
    }
  }
}

/** A compiled trip expression. */
export class TripExpression {
  readonly source: string;
  private readonly root: Node;

  private constructor(source: string, root: Node) {
    this.source = source;
    this.root = root;
  }

  /** Parses and type-checks; throws TripExpressionError naming the expression and column. */
  static compile(source: string): TripExpression {
    const root = new Parser(source, tokenize(source)).parse();
    const type = check(source, root);
    if (type !== 'bool')
      throw new TripExpressionError(source, 0, `expression must be a boolean, got ${type}`);
    return new TripExpression(source, root);
  }

  /**
   * Whether the breaker should trip. An evaluation error (division by zero, overflow) means
   * "do not trip", as in Dapr: it is not safe to assume tripping is right.
   */
  evaluate(counts: BreakerCounts): boolean {
    const vars = {
      requests: BigInt(counts.requests),
      totalSuccesses: BigInt(counts.totalSuccesses),
      totalFailures: BigInt(counts.totalFailures),
      consecutiveSuccesses: BigInt(counts.consecutiveSuccesses),
      consecutiveFailures: BigInt(counts.consecutiveFailures),
    };
    try {
      return evaluate(this.root, vars) === true;
    } catch (err) {
      if (err instanceof TripEvalError) return false;
      throw err;
    }
  }

  toString(): string {
    return this.source;
  }
}

/** Dapr's default trip expression. */
export const DEFAULT_TRIP = 'consecutiveFailures > 5';
