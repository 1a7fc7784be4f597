/**
 * Shared helpers for reading Dapr resources (`dapr.io/*` YAML) into typed, frozen objects. Every
 * problem names the file, the resource, the field and the rule, and all of them are reported at once.
 */

/** One thing wrong with a resource. */
export interface ResourceProblem {
  readonly file: string;
  /** `Kind/name`, or `document N` when the name is missing. */
  readonly resource: string;
  /** Dotted path of the field, e.g. `spec.metadata[2].value` or a metadata field name. */
  readonly field: string;
  readonly rule: string;
}

/** Renders a problem as one line: `file: Component/statestore: field "x": rule`. */
export function formatProblem(p: ResourceProblem): string {
  return `${p.file}: ${p.resource}: field "${p.field}": ${p.rule}`;
}

/** Thrown when resources cannot be loaded; carries every problem. */
export class ResourceError extends Error {
  override readonly name = 'ResourceError';
  readonly problems: readonly ResourceProblem[];
  constructor(problems: readonly ResourceProblem[]) {
    super(`invalid resources:\n${problems.map((p) => `  - ${formatProblem(p)}`).join('\n')}`);
    this.problems = problems;
  }
}

/** A plain object from YAML. */
export type Obj = Readonly<Record<string, unknown>>;

/** True for a non-null, non-array object. */
export function isObj(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Collects problems for one resource. */
export class ProblemSink {
  readonly problems: ResourceProblem[] = [];
  constructor(
    readonly file: string,
    public resource: string,
  ) {}

  add(field: string, rule: string): void {
    this.problems.push({ file: this.file, resource: this.resource, field, rule });
  }

  /** Reads an optional string field; non-strings are problems. */
  str(obj: Obj, key: string, path: string, required = false): string | undefined {
    const v = obj[key];
    if (v === undefined || v === null || v === '') {
      if (required) this.add(path, 'is required');
      return undefined;
    }
    if (typeof v !== 'string') {
      this.add(path, `must be a string, got ${JSON.stringify(v)}`);
      return undefined;
    }
    return v;
  }

  /** Reads an optional boolean (YAML bool or "true"/"false"). */
  bool(obj: Obj, key: string, path: string): boolean | undefined {
    const v = obj[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'boolean') return v;
    if (v === 'true' || v === 'false') return v === 'true';
    this.add(path, `must be a boolean, got ${JSON.stringify(v)}`);
    return undefined;
  }

  /** Reads an optional object. */
  obj(obj: Obj, key: string, path: string): Obj | undefined {
    const v = obj[key];
    if (v === undefined || v === null) return undefined;
    if (!isObj(v)) {
      this.add(path, 'must be an object');
      return undefined;
    }
    return v;
  }

  /** Reads an optional array. */
  arr(obj: Obj, key: string, path: string): readonly unknown[] {
    const v = obj[key];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) {
      this.add(path, 'must be a list');
      return [];
    }
    return v;
  }

  /** Reads a list of strings (e.g. `scopes`). */
  strings(obj: Obj, key: string, path: string): string[] {
    const out: string[] = [];
    this.arr(obj, key, path).forEach((v, i) => {
      if (typeof v === 'string') out.push(v);
      else this.add(`${path}[${i}]`, 'must be a string');
    });
    return out;
  }
}

/** Dapr writes metadata values as any JSON; strings are kept, other values are stringified. */
export function stringifyValue(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === undefined || v === null) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** Reference to a key of a secret in a secret store. */
export interface SecretKeyRef {
  readonly name: string;
  /** Defaults to the secret name, like daprd. */
  readonly key: string;
}

/** Reads `{name, key}` of a `secretKeyRef`. */
export function readSecretKeyRef(sink: ProblemSink, v: unknown, path: string): SecretKeyRef | undefined {
  if (!isObj(v)) {
    sink.add(path, 'must be an object with name and key');
    return undefined;
  }
  const name = sink.str(v, 'name', `${path}.name`, true);
  const key = sink.str(v, 'key', `${path}.key`) ?? name;
  return name === undefined || key === undefined ? undefined : { name, key };
}
