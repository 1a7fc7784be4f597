import { hostname } from 'node:os';
import type { Logger } from '../components/component.js';
import { RUNTIME_VERSION } from '../runtime/version.js';

/**
 * The sidecar's structured logger. Text lines look like daprd's logrus output
 * (`time="…" level=info msg="…" app_id=… scope=…`); with `--log-as-json` every line is a JSON
 * object with daprd's keys: time, level, msg, scope, app_id, instance, type, ver.
 */

/** Log levels in increasing severity (daprd also has `fatal`, treated as `error`). */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/** One of `LOG_LEVELS`. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Options for `createLogger`. */
export interface LoggerOptions {
  readonly level: LogLevel;
  readonly json: boolean;
  readonly appId: string;
  /** Logger scope, daprd style (`dapr.runtime`, `dapr.contrib`, …). */
  readonly scope?: string;
  /** Instance name; defaults to the host name like daprd. */
  readonly instance?: string;
  /** Where lines go; defaults to stdout. */
  readonly write?: (line: string) => void;
}

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

function renderValue(value: unknown): unknown {
  if (value instanceof Error) {
    const cause = value.cause instanceof Error ? `: ${value.cause.message}` : '';
    return `${value.message}${cause}`;
  }
  return value;
}

function quote(text: string): string {
  return /^[A-Za-z0-9_.:/@+-]+$/.test(text) ? text : JSON.stringify(text);
}

class StructuredLogger implements Logger {
  readonly #options: LoggerOptions;
  readonly #fields: Readonly<Record<string, unknown>>;
  readonly #write: (line: string) => void;
  readonly #instance: string;

  constructor(options: LoggerOptions, fields: Readonly<Record<string, unknown>>) {
    this.#options = options;
    this.#fields = fields;
    this.#write = options.write ?? ((line) => process.stdout.write(`${line}\n`));
    this.#instance = options.instance ?? hostname();
  }

  debug(msg: string, fields?: Record<string, unknown>): void {
    this.#log('debug', msg, fields);
  }
  info(msg: string, fields?: Record<string, unknown>): void {
    this.#log('info', msg, fields);
  }
  warn(msg: string, fields?: Record<string, unknown>): void {
    this.#log('warn', msg, fields);
  }
  error(msg: string, fields?: Record<string, unknown>): void {
    this.#log('error', msg, fields);
  }
  child(fields: Record<string, unknown>): Logger {
    return new StructuredLogger(this.#options, { ...this.#fields, ...fields });
  }

  #log(level: LogLevel, msg: string, fields: Record<string, unknown> | undefined): void {
    if (RANK[level] < RANK[this.#options.level]) return;
    const all: Record<string, unknown> = { ...this.#fields, ...fields };
    const scope = typeof all.scope === 'string' ? all.scope : (this.#options.scope ?? 'dapr.runtime');
    delete all.scope;
    const time = new Date().toISOString();
    if (this.#options.json) {
      const record: Record<string, unknown> = {
        time,
        level,
        msg,
        scope,
        app_id: this.#options.appId,
        instance: this.#instance,
        type: 'log',
        ver: RUNTIME_VERSION,
      };
      for (const [k, v] of Object.entries(all)) if (!(k in record)) record[k] = renderValue(v);
      this.#write(JSON.stringify(record));
      return;
    }
    let line = `time="${time}" level=${level} msg=${JSON.stringify(msg)} app_id=${quote(this.#options.appId)} instance=${quote(this.#instance)} scope=${scope} type=log ver=${RUNTIME_VERSION}`;
    for (const [k, v] of Object.entries(all)) {
      const rendered = renderValue(v);
      line += ` ${k}=${quote(typeof rendered === 'string' ? rendered : (JSON.stringify(rendered) ?? 'undefined'))}`;
    }
    this.#write(line);
  }
}

/** Creates the root logger; pass it (or its children) to everything that logs. */
export function createLogger(options: LoggerOptions): Logger {
  return new StructuredLogger(options, {});
}
