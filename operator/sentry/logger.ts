/** Structured JSON logging for sentry (one line per entry on stderr-like sinks). */

/** The logger shape used across Outrigger (same as sidecar/components Logger). */
export interface SentryLogger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): SentryLogger;
}

type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** A JSON-lines logger writing to `write` (default: process.stdout). */
export function createJsonLogger(
  base: Record<string, unknown> = {},
  minLevel: Level = 'info',
  write: (line: string) => void = (line) => process.stdout.write(line),
): SentryLogger {
  const emit = (level: Level, msg: string, fields?: Record<string, unknown>): void => {
    if (ORDER[level] < ORDER[minLevel]) return;
    write(
      `${JSON.stringify({ time: new Date().toISOString(), level, scope: 'sentry', msg, ...base, ...fields })}\n`,
    );
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createJsonLogger({ ...base, ...fields }, minLevel, write),
  };
}

/** A logger that drops everything (tests that do not inspect logs). */
export function silentLogger(): SentryLogger {
  const noop = (): void => {};
  const logger: SentryLogger = { debug: noop, info: noop, warn: noop, error: noop, child: () => logger };
  return logger;
}
