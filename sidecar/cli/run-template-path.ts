/**
 * Where `-f <dir|file>` points, as the dapr CLI's `getRunFilePath` (dapr/cli cmd/run.go): a folder
 * means its `dapr.yaml` (an error if it has none); a file must end in `.yaml` or `.yml`. Also the
 * error type of every template problem.
 */
import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** Everything wrong with a template, one full sentence per problem. */
export class TemplateError extends Error {
  /** The problems, in file order. */
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(problems.join('\n'));
    this.name = 'TemplateError';
    this.problems = problems;
  }
}

/** The file `-f <dir>` looks for, as the dapr CLI's `defaultRunTemplateFileName`. */
export const DEFAULT_TEMPLATE_FILE = 'dapr.yaml';

/** The path a template read from stdin (`-f -`) is known by: `<cwd>/-`, as the dapr CLI's `filepath.Abs("-")`. */
export function stdinTemplatePath(cwd: string): string {
  return join(cwd, '-');
}

/**
 * Resolves `-f <arg>`: a folder means its `dapr.yaml`; a file must end in .yaml or .yml; `-` (the
 * template comes from stdin) is `stdinTemplatePath(cwd)`.
 */
export function resolveTemplatePath(arg: string, cwd: string): string {
  if (arg === '-') return stdinTemplatePath(cwd);
  const abs = resolve(cwd, expandHome(arg));
  let isDir: boolean;
  try {
    isDir = statSync(abs).isDirectory();
  } catch {
    throw new TemplateError([`run template "${arg}" not found (looked for ${abs})`]);
  }
  if (isDir) {
    const file = join(abs, DEFAULT_TEMPLATE_FILE);
    if (!existsSync(file))
      throw new TemplateError([`no ${DEFAULT_TEMPLATE_FILE} in directory "${arg}" (looked for ${file})`]);
    return file;
  }
  if (!/\.ya?ml$/.test(abs)) throw new TemplateError([`file "${arg}" is not a YAML file (.yaml or .yml)`]);
  return abs;
}

/** Expands a leading `~` to the home folder, as the dapr CLI's ResolveHomeDir. */
export function expandHome(path: string): string {
  return path === '~' || path.startsWith('~/') ? join(homedir(), path.slice(1)) : path;
}
