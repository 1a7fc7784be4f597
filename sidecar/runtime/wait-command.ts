/**
 * `outriggerd --wait`, as daprd's: polls `http://localhost:<port>/v1.0/healthz/outbound` every
 * 100 ms (each try limited to 500 ms) until it answers 204 or 60 s have passed, printing progress
 * on stderr. Like daprd it exits 0 either way; the last line says which.
 */
const TIMEOUT_MS = 60_000;
const TRY_TIMEOUT_MS = 500;
const PERIOD_MS = 100;

export async function waitUntilOutboundReady(
  port: number,
  print: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
  timeoutMs = TIMEOUT_MS,
): Promise<boolean> {
  const url = `http://localhost:${port}/v1.0/healthz/outbound`;
  print(
    `Waiting for Dapr to be outbound ready (timeout: ${Math.round(timeoutMs / 1000)} seconds): url=${url}`,
  );
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  let nextPrint = 0;
  while (Date.now() < deadline) {
    lastError = await check(url);
    if (lastError === '') {
      print('Dapr is outbound ready!');
      return true;
    }
    if (Date.now() >= nextPrint) {
      nextPrint = Date.now() + 1000;
      print(`Dapr outbound NOT ready yet: ${lastError}`);
    }
    await new Promise((resolve) => setTimeout(resolve, PERIOD_MS));
  }
  print(`timeout waiting for Dapr to become outbound ready. Last error: ${lastError}`);
  return false;
}

/** '' when the URL answers 204, otherwise what went wrong. */
async function check(url: string): Promise<string> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(TRY_TIMEOUT_MS) });
    await res.arrayBuffer();
    return res.status === 204 ? '' : `HTTP status code ${res.status}`;
  } catch (err) {
    const cause = (err as { cause?: { message?: string } }).cause?.message;
    return cause ?? (err as Error).message;
  }
}
