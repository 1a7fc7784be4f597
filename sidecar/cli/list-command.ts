import { resolveHome } from './home.js';
import { listEntries, type RunEntry } from './registry.js';
import type { CliContext } from './run-command.js';

/** `--output` formats of `outrigger list`. */
export const LIST_FORMATS = ['table', 'json'] as const;

/** One of `LIST_FORMATS`. */
export type ListFormat = (typeof LIST_FORMATS)[number];

/** Age like the dapr CLI prints it: `45s`, `12m`, `3h`, `2d`. */
export function formatAge(startedIso: string, now: Date): string {
  const seconds = Math.max(0, Math.floor((now.getTime() - Date.parse(startedIso)) / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

/**
 * Renders entries as an aligned text table. A RUN_TEMPLATE_PATH column (dapr list's name) is
 * added when any app was started by `outrigger run -f`.
 */
export function formatTable(entries: readonly RunEntry[], now: Date): string {
  const withTemplate = entries.some((e) => e.runTemplatePath !== undefined);
  const header = ['APP ID', 'HTTP PORT', 'GRPC PORT', 'APP PORT', 'COMMAND', 'AGE', 'PID'];
  if (withTemplate) header.push('RUN_TEMPLATE_PATH');
  const rows = entries.map((e) => {
    // One line per app, even for a command with newlines in it (e.g. `node -e` source).
    const command = e.command.replace(/\s+/g, ' ').trim();
    const row = [
      e.appId,
      String(e.httpPort),
      String(e.grpcPort),
      e.appPort === undefined ? '0' : String(e.appPort),
      command.length > 40 ? `${command.slice(0, 37)}...` : command,
      formatAge(e.started, now),
      String(e.cliPid),
    ];
    if (withTemplate) row.push(e.runTemplatePath ?? '');
    return row;
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** Runs `outrigger list`; resolves with the exit status. */
export async function listApps(format: ListFormat, ctx: CliContext): Promise<number> {
  const entries = await listEntries(resolveHome(ctx.env).runDir);
  if (format === 'json') {
    ctx.stdout.write(`${JSON.stringify(entries, null, 2)}\n`);
    return 0;
  }
  if (entries.length === 0) {
    ctx.stdout.write('No outrigger apps are running.\n');
    return 0;
  }
  ctx.stdout.write(`${formatTable(entries, new Date())}\n`);
  return 0;
}
