import type { Logger } from '../../sidecar/components/component.js';

/** A logger that keeps the warning and error messages it gets, for assertions. */
export function recordingLogger(): { logger: Logger; warnings: string[]; errors: string[] } {
  const warnings: string[] = [];
  const errors: string[] = [];
  const logger: Logger = {
    debug: () => {},
    info: () => {},
    warn: (m: string) => warnings.push(m),
    error: (m: string) => errors.push(m),
    child: () => logger,
  };
  return { logger, warnings, errors };
}
