import { execFile } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ProgressLog, runGo } from './go-build.js';
import { ensureGoToolchain } from './go-toolchain.js';
import { provisionCached, testbinRoot } from './kube-binaries.js';
import { VERSIONS } from './versions.js';

/**
 * Makes sure the pinned h2spec binary is in the testbin cache (`go install` from the module proxy
 * when missing, well under a minute) and returns its path.
 */
export async function ensureH2spec(log: ProgressLog = () => {}): Promise<string> {
  const root = testbinRoot();
  await mkdir(root, { recursive: true });
  const dir = await provisionCached('h2spec', VERSIONS.h2spec, root, ['h2spec'], log, async (out) => {
    const go = await ensureGoToolchain(root, log);
    await runGo(['install', `github.com/summerwind/h2spec/cmd/h2spec@${VERSIONS.h2spec}`], {
      cwd: out,
      log,
      go,
      env: { GOBIN: out },
    });
  });
  return join(dir, 'h2spec');
}

/** One h2spec case from its JUnit report: `id` is `<package>/<n>` as h2spec's own spec filter names it. */
export interface H2specCase {
  readonly id: string;
  readonly title: string;
  readonly outcome: 'passed' | 'failed' | 'skipped';
  /** The failure's text (expected and actual frames) when it failed. */
  readonly detail: string;
}

/** What one h2spec run gave. */
export interface H2specRun {
  readonly cases: H2specCase[];
  /** h2spec's console output (the summary line and the failures in words). */
  readonly output: string;
}

/** Options of `runH2spec`. */
export interface H2specOptions {
  readonly host: string;
  readonly port: number;
  /** Extra flags (`-S`, `--max-header-length`, `-t -k`, ...). */
  readonly args?: readonly string[];
  /** Report file path (JUnit XML). */
  readonly reportPath: string;
}

/** Runs every h2spec case against `host:port` and parses its JUnit report. */
export async function runH2spec(h2spec: string, options: H2specOptions): Promise<H2specRun> {
  const args = [
    '-h',
    options.host,
    '-p',
    String(options.port),
    '-j',
    options.reportPath,
    ...(options.args ?? []),
  ];
  // h2spec exits non-zero when a case fails: the report says which, so the exit code is not an error.
  const output = await new Promise<string>((resolve, reject) => {
    execFile(h2spec, args, { maxBuffer: 16 << 20, timeout: 600_000 }, (err, stdout, stderr) => {
      if (err !== null && typeof err.code !== 'number') reject(err);
      else resolve(`${stdout}${stderr}`);
    });
  });
  const xml = await readFile(options.reportPath, 'utf8').catch((err: Error) => {
    throw new Error(`h2spec wrote no report (${err.message}); its output:\n${output}`);
  });
  return { cases: parseJunit(xml), output };
}

/** Reads h2spec's JUnit XML: each `<testcase>` with its suite's package and its place in the suite. */
export function parseJunit(xml: string): H2specCase[] {
  const cases: H2specCase[] = [];
  const suites = xml.split('<testsuite ').slice(1);
  for (const suite of suites) {
    const pkg = /package="([^"]*)"/.exec(suite)?.[1] ?? '?';
    const bodies = suite.split('<testcase ').slice(1);
    bodies.forEach((body, i) => {
      const title = unescapeXml(/classname="([^"]*)"/.exec(body)?.[1] ?? '');
      const failure = /<(failure|error)[^>]*>([\s\S]*?)<\/\1>/.exec(body);
      const skipped = /<skipped/.test(body);
      cases.push({
        id: `${pkg}/${i + 1}`,
        title,
        outcome: failure !== null ? 'failed' : skipped ? 'skipped' : 'passed',
        detail: failure === null ? '' : unescapeXml(failure[2] ?? ''),
      });
    });
  }
  return cases;
}

function unescapeXml(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#34;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}
