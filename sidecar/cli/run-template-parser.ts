/**
 * Reads a Multi-App Run template (`dapr.yaml`) the way the dapr CLI does (dapr/cli
 * pkg/runfileconfig/run_file_config_parser.go): `version` is required; paths under `common` are
 * relative to the template's folder, `appDirPath` too, and every other path of an app is relative
 * to its `appDirPath`; an app's own settings win over `common`'s (a zero value counts as unset);
 * `env` merges with the app's keys first, then `common.envFile`, then `common.env`; a missing
 * `appID` becomes the base name of `appDirPath`. Resources and config follow dapr's precedence:
 * the app's own paths > `<appDirPath>/.dapr/resources` (`.dapr/config.yaml`) > `common` > the
 * CLI's defaults. As the dapr CLI, a local run ignores unknown fields and Kubernetes-only ones,
 * but names each in a warning; unlike it, a field Outrigger cannot honour (`unixDomainSocket`) or
 * a bad value is an error, and every problem is reported at once, naming the app and the field.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { parseEnvFile } from './env-file.js';
import {
  checkValue,
  type FieldValue,
  type LogDestination,
  suggestField,
  TEMPLATE_FIELDS,
  TOP_LEVEL_FIELDS,
} from './run-template-fields.js';
import { expandHome, TemplateError } from './run-template-path.js';

/** An app of the template, merged with `common` and resolved: what the runner starts. */
export interface TemplateApp {
  readonly appId: string;
  /** Absolute; the working directory of the app and its sidecar, and home of `.dapr/logs`. */
  readonly appDirPath: string;
  /** The app's argv; empty runs the sidecar alone. */
  readonly command: readonly string[];
  /** Variables added to the app's environment. */
  readonly env: Readonly<Record<string, string>>;
  /** Absolute resource folders; empty means the CLI's defaults (those of `outrigger run`). */
  readonly resourcesPaths: readonly string[];
  readonly configFile?: string;
  readonly appPort?: number;
  readonly appProtocol?: string;
  readonly appChannelAddress?: string;
  readonly httpPort?: number;
  readonly grpcPort?: number;
  readonly internalGrpcPort?: number;
  readonly metricsPort?: number;
  readonly logLevel?: string;
  readonly enableApiLogging: boolean;
  /** Further daprd flags from the template (health checks, body size, ...). */
  readonly daprdArgs: readonly string[];
  readonly appLogDestination: LogDestination;
  readonly daprdLogDestination: LogDestination;
}

/** A parsed template. */
export interface RunTemplate {
  /** Absolute path of the template file. */
  readonly path: string;
  /** The template's optional `name`. */
  readonly name?: string;
  readonly apps: readonly TemplateApp[];
  /** Fields ignored, each naming its app: unknown ones and those of a Kubernetes run. */
  readonly warnings: readonly string[];
}

/** Same app id rule as `outrigger run --app-id`. */
const APP_ID = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

/** Flags the runner passes itself (typed fields), not through `daprdArgs`. */
const TYPED_FLAGS = new Set(['app-protocol', 'log-level', 'enable-api-logging']);

/** daprd flags whose zero value means "not set" (dapr's `ifneq:"0"`). */
const POSITIVE_ONLY = new Set([
  'app-health-probe-interval',
  'app-health-probe-timeout',
  'app-health-threshold',
  'app-max-concurrency',
]);

/** The entries of `o` that are defined, typed as optional properties. */
function defined<T extends object>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}

function isZero(value: FieldValue | undefined): boolean {
  if (value === undefined || value === '' || value === 0 || value === false) return true;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === 'object' && Object.keys(value).length === 0;
}

type Section = Map<string, FieldValue>;

/** What a parse found wrong: errors stop the run, warnings are printed. */
interface Findings {
  readonly problems: string[];
  readonly warnings: string[];
}

/** Checks one section's keys and values; findings are recorded, good values returned. */
function readSection(raw: unknown, where: string, scope: 'common' | 'app', findings: Findings): Section {
  const { problems, warnings } = findings;
  const out: Section = new Map();
  if (raw === undefined || raw === null) return out;
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    problems.push(`${where}: must be a map of fields`);
    return out;
  }
  for (const [key, value] of Object.entries(raw)) {
    const spec = TEMPLATE_FIELDS[key];
    if (spec === undefined) {
      const hint = suggestField(key, Object.keys(TEMPLATE_FIELDS));
      warnings.push(
        `${where}: unknown field "${key}" ignored${hint === undefined ? '' : ` (did you mean "${hint}"?)`}`,
      );
      continue;
    }
    if (spec.ignored !== undefined) {
      warnings.push(`${where}: field "${key}" ignored: ${spec.ignored}`);
      continue;
    }
    if (spec.unsupported !== undefined) {
      problems.push(`${where}: field "${key}" is not supported: ${spec.unsupported}`);
      continue;
    }
    if (spec.scope === 'app' && scope === 'common') {
      problems.push(`${where}: field "${key}" belongs to each app, not to common`);
      continue;
    }
    if (spec.scope === 'common' && scope === 'app') {
      problems.push(`${where}: field "${key}" is only read from common`);
      continue;
    }
    if (value === null) continue;
    const checked = checkValue(spec.kind, value);
    if ('problem' in checked) problems.push(`${where}: field "${key}" ${checked.problem}`);
    else out.set(key, checked.value);
  }
  return out;
}

/** Resolves a path field against `base` and checks that it exists (dapr's ValidatePath). */
function existingPath(base: string, path: string, where: string, key: string, problems: string[]) {
  const abs = resolve(base, expandHome(path));
  if (existsSync(abs)) return abs;
  problems.push(`${where}: field "${key}": "${path}" does not exist (resolved to ${abs})`);
  return undefined;
}

/** `resourcesPaths` then `resourcesPath`, resolved and checked, as dapr merges them. */
function resourcePaths(section: Section, base: string, where: string, problems: string[]): string[] {
  const out: string[] = [];
  for (const p of (section.get('resourcesPaths') as readonly string[] | undefined) ?? []) {
    const abs = existingPath(base, p, where, 'resourcesPaths', problems);
    if (abs !== undefined) out.push(abs);
  }
  const single = section.get('resourcesPath') as string | undefined;
  if (single !== undefined && single.trim() !== '') {
    const abs = existingPath(base, single, where, 'resourcesPath', problems);
    if (abs !== undefined) out.push(abs);
  }
  return out;
}

function optionalPath(section: Section, key: string, base: string, where: string, problems: string[]) {
  const p = section.get(key) as string | undefined;
  return p === undefined || p.trim() === '' ? undefined : existingPath(base, p, where, key, problems);
}

/** The protocol the app gets in APP_PROTOCOL: the deprecated appSSL turns http/grpc into https/grpcs. */
function withAppSsl(protocol: string | undefined, appSsl: boolean): string | undefined {
  if (!appSsl) return protocol;
  if (protocol === undefined || protocol === 'http') return 'https';
  return protocol === 'grpc' ? 'grpcs' : protocol;
}

/** Builds the extra daprd flags from the merged shared and per-app fields. */
function daprdArgsOf(merged: Section): string[] {
  const args: string[] = [];
  for (const [key, value] of merged) {
    const flag = TEMPLATE_FIELDS[key]?.flag;
    if (flag === undefined || TYPED_FLAGS.has(flag)) continue;
    if (typeof value === 'boolean') {
      if (value) args.push(`--${flag}`);
    } else if (typeof value === 'number') {
      if (!POSITIVE_ONLY.has(flag) || value > 0) args.push(`--${flag}`, String(value));
    } else if (typeof value === 'string' && value !== '') args.push(`--${flag}`, value);
  }
  return args;
}

/** Parses and resolves template text; `path` is the template file's absolute path. */
export function parseRunTemplate(text: string, path: string): RunTemplate {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new TemplateError([`${path}: not valid YAML: ${(err as Error).message}`]);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw new TemplateError([`${path}: a run template is a map with version, common and apps`]);
  const top = doc as Record<string, unknown>;
  const problems: string[] = [];
  const warnings: string[] = [];
  const findings: Findings = { problems, warnings };
  for (const key of Object.keys(top)) {
    if (!(TOP_LEVEL_FIELDS as readonly string[]).includes(key))
      warnings.push(`unknown top-level field "${key}" ignored (expected ${TOP_LEVEL_FIELDS.join(', ')})`);
  }
  if (top.version === undefined || top.version === null || top.version === 0)
    problems.push(`required field "version" not found (use version: 1)`);
  else if (top.version !== 1) problems.push(`field "version" must be 1, got ${JSON.stringify(top.version)}`);
  if (top.name !== undefined && typeof top.name !== 'string') problems.push('field "name" must be a string');
  const baseDir = resolve(path, '..');
  const common = readSection(top.common, 'common', 'common', findings);
  const commonResources = resourcePaths(common, baseDir, 'common', problems);
  const commonConfig = optionalPath(common, 'configFilePath', baseDir, 'common', problems);
  let fileEnv: Record<string, string> = {};
  const envFile = optionalPath(common, 'envFile', baseDir, 'common', problems);
  if (envFile !== undefined) {
    const parsed = parseEnvFile(readFileSync(envFile, 'utf8'));
    fileEnv = parsed.env;
    for (const n of parsed.badLines)
      problems.push(`common: field "envFile": ${envFile} line ${n} is not NAME=value`);
  }
  const rawApps = top.apps;
  if (!Array.isArray(rawApps) || rawApps.length === 0) {
    problems.push('field "apps" must list at least one app');
    throw new TemplateError(problems.map((p) => `${path}: ${p}`));
  }
  const apps: TemplateApp[] = [];
  const seen = new Map<string, number>();
  rawApps.forEach((raw: unknown, i) => {
    const id = (raw as { appID?: unknown } | null)?.appID;
    const where = `apps[${i}]${typeof id === 'string' ? ` (appID "${id}")` : ''}`;
    const app = readSection(raw, where, 'app', findings);
    const dir = app.get('appDirPath') as string | undefined;
    if (dir === undefined || dir.trim() === '') {
      problems.push(`${where}: required field "appDirPath" not found`);
      return;
    }
    const appDir = existingPath(baseDir, dir, where, 'appDirPath', problems);
    if (appDir === undefined) return;
    if (!statSync(appDir).isDirectory()) {
      problems.push(`${where}: field "appDirPath": "${dir}" is not a directory`);
      return;
    }
    const appId = (app.get('appID') as string | undefined) || basename(appDir);
    if (!APP_ID.test(appId))
      problems.push(`${where}: app id "${appId}" is invalid: use letters, digits, "-" and "_" (no dots)`);
    const other = seen.get(appId);
    if (other !== undefined) problems.push(`${where}: app id "${appId}" is also used by apps[${other}]`);
    seen.set(appId, i);

    // Precedence (dapr's resolveResourcesFilePath / resolveConfigFilePath).
    let resources = resourcePaths(app, appDir, where, problems);
    const localResources = join(appDir, '.dapr', 'resources');
    if (resources.length === 0) resources = existsSync(localResources) ? [localResources] : commonResources;
    const localConfig = join(appDir, '.dapr', 'config.yaml');
    const configFile =
      optionalPath(app, 'configFilePath', appDir, where, problems) ??
      (existsSync(localConfig) ? localConfig : commonConfig);

    const merged: Section = new Map(app);
    for (const [key, value] of common) if (isZero(merged.get(key))) merged.set(key, value);
    const num = (key: string) => merged.get(key) as number | undefined;
    const str = (key: string) => merged.get(key) as string | undefined;
    const env = {
      ...((common.get('env') as Record<string, string> | undefined) ?? {}),
      ...fileEnv,
      ...((app.get('env') as Record<string, string> | undefined) ?? {}),
    };
    const optional = {
      configFile,
      appPort: num('appPort'),
      appProtocol: withAppSsl(str('appProtocol'), merged.get('appSSL') === true),
      appChannelAddress: str('appChannelAddress'),
      httpPort: num('daprHTTPPort'),
      grpcPort: num('daprGRPCPort'),
      internalGrpcPort: num('daprInternalGRPCPort'),
      metricsPort: num('metricsPort'),
      logLevel: str('logLevel'),
    };
    apps.push(
      Object.freeze({
        appId,
        appDirPath: appDir,
        command: Object.freeze([...((app.get('command') as readonly string[] | undefined) ?? [])]),
        env: Object.freeze(env),
        resourcesPaths: Object.freeze(resources),
        ...defined(optional),
        enableApiLogging: merged.get('enableApiLogging') === true,
        daprdArgs: Object.freeze(daprdArgsOf(merged)),
        appLogDestination: (str('appLogDestination') ?? 'fileAndConsole') as LogDestination,
        daprdLogDestination: (str('daprdLogDestination') ?? 'file') as LogDestination,
      }),
    );
  });
  if (problems.length > 0) throw new TemplateError(problems.map((p) => `${path}: ${p}`));
  return Object.freeze({
    path,
    ...(typeof top.name === 'string' ? { name: top.name } : {}),
    apps: Object.freeze(apps),
    warnings: Object.freeze(warnings.map((w) => `${path}: ${w}`)),
  });
}

/** Reads and parses the template file at `path` (absolute, e.g. from `resolveTemplatePath`). */
export function loadRunTemplate(path: string): RunTemplate {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new TemplateError([`cannot read run template ${path}: ${(err as Error).message}`]);
  }
  return parseRunTemplate(text, path);
}
