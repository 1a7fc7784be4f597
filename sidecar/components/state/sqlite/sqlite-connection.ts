/** Where a `state.sqlite` connection string points. */
export interface SqliteTarget {
  /** A file path, or `:memory:`. */
  readonly file: string;
  readonly readonly: boolean;
}

/**
 * Interprets contrib's `connectionString`: a plain path, `:memory:`, or a `file:` URI whose
 * query may say `mode=memory` or `mode=ro`. Go-driver options such as `_pragma=…` are ignored:
 * the store sets its own pragmas from metadata (`busyTimeout`, `disableWAL`).
 */
export function openTarget(connectionString: string): SqliteTarget {
  const cs = connectionString.trim();
  if (!cs.startsWith('file:')) return { file: cs, readonly: false };
  const rest = cs.slice('file:'.length);
  const q = rest.indexOf('?');
  const pathPart = decodeURIComponent(q < 0 ? rest : rest.slice(0, q));
  const params = new URLSearchParams(q < 0 ? '' : rest.slice(q + 1));
  const mode = params.get('mode');
  // `file:///abs/path` and `file:/abs/path` both name an absolute path.
  const file = pathPart.startsWith('//') ? pathPart.replace(/^\/\/[^/]*/, '') : pathPart;
  if (mode === 'memory' || file === ':memory:' || file === '') return { file: ':memory:', readonly: false };
  return { file, readonly: mode === 'ro' };
}
