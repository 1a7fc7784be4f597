/**
 * Sentry signing throughput and latency, with baselines measured in the same run:
 * - raw node:crypto ECDSA P-256 signature over the same TBSCertificate (the floor);
 * - node-forge's own pki path (RSA-2048, pure-JS signing) — what "just use forge" would cost;
 * - CertificateAuthority.sign (CSR parse + verify, TBS build with forge asn1, node:crypto sign);
 * - SignCertificate over gRPC+TLS: a reused channel (closed loop) and a new channel per call,
 *   which is what a sidecar does on each renewal.
 * Run alone: `node dist/bench/sentry-signing.js` (BENCH_DURATION_SECONDS, BENCH_CONCURRENCY).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import forge from 'node-forge';
import { Registry } from 'prom-client';
import { generateP256 } from '../operator/sentry/ca-bundle.js';
import { FileCaStore } from '../operator/sentry/ca-store.js';
import { silentLogger } from '../operator/sentry/logger.js';
import { createSentryMetrics } from '../operator/sentry/metrics.js';
import { SentryServer } from '../operator/sentry/sentry-server.js';
import { InsecureValidator } from '../operator/sentry/validators.js';
import { loadSentryService } from '../sidecar/pki/proto/sentry-proto.js';
import { buildTbsCertificate, signDer } from '../sidecar/pki/x509/certificate.js';
import { createCsr } from '../sidecar/pki/x509/csr.js';
import { checkSpiffeServerIdentity, requestCertificate } from '../sidecar/security/sentry-client.js';
import { makeTempDir, removeTempDir } from '../test/env/process.js';
import type { BenchSettings, BenchTable } from './report.js';
import { fmt, readSettings, renderTable } from './report.js';

/** One measured variant. */
export interface SentryBenchRow {
  readonly variant: string;
  readonly ops: number;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** Runs `op` with `concurrency` workers for `durationMs`, recording each latency. */
async function measure(
  variant: string,
  durationMs: number,
  concurrency: number,
  op: () => Promise<unknown> | unknown,
): Promise<SentryBenchRow> {
  const latencies: number[] = [];
  const start = performance.now();
  const deadline = start + durationMs;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const t = performance.now();
      await op();
      latencies.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    variant,
    ops: latencies.length,
    perSecond: latencies.length / elapsed,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  };
}

/** Measures every variant and returns the rows (the bench runner renders them). */
export async function runSentryBench(
  settings: BenchSettings = readSettings(process.env),
): Promise<SentryBenchRow[]> {
  const dir = await makeTempDir('bench-sentry');
  const registry = new Registry();
  const sentry = new SentryServer({
    store: new FileCaStore(join(dir, 'creds'), join(dir, 'ca.crt')),
    trustDomain: 'cluster.local',
    namespace: 'dapr-system',
    host: '127.0.0.1',
    port: 0,
    validators: { INSECURE: new InsecureValidator() },
    defaultValidator: 'INSECURE',
    workloadTtlMs: 24 * 3_600_000,
    skewMs: 15 * 60_000,
    caValidityMs: 365 * 86_400_000,
    reloadIntervalMs: 60_000,
    metrics: createSentryMetrics(registry),
    logger: silentLogger(),
    now: Date.now,
  });
  await sentry.start();
  const rows: SentryBenchRow[] = [];
  const client = new (grpc.makeGenericClientConstructor(loadSentryService(), 'CA'))(
    `127.0.0.1:${sentry.port}`,
    grpc.credentials.createSsl(Buffer.from(await readFile(join(dir, 'ca.crt'))), null, null, {
      checkServerIdentity: checkSpiffeServerIdentity(sentry.spiffeId),
    }),
    { 'grpc.ssl_target_name_override': 'dapr-sentry' },
  ) as grpc.Client & Record<string, (req: unknown, cb: (err: Error | null) => void) => void>;
  try {
    const keys = generateP256();
    const csrPem = createCsr(keys.privateKey, keys.publicKey);
    const bundle = sentry.ca.bundle;
    const issuer = {
      certificate: bundle.issuerChain[0] as NonNullable<(typeof bundle.issuerChain)[0]>,
      privateKey: bundle.issuerKey,
    };
    const now = Date.now();
    const tbs = buildTbsCertificate(
      {
        role: 'workload',
        uris: ['spiffe://public/ns/default/bench'],
        notBefore: new Date(now),
        notAfter: new Date(now + 86_400_000),
        publicKey: keys.publicKey,
      },
      issuer,
    );
    const d = settings.durationMs;
    rows.push(
      await measure('baseline: node:crypto ECDSA P-256 sign of the TBS', d, 1, () =>
        signDer(tbs, bundle.issuerKey),
      ),
    );

    const rsa = forge.pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 });
    rows.push(
      await measure('baseline: node-forge pki certificate (RSA-2048, JS signing)', d, 1, () => {
        const cert = forge.pki.createCertificate();
        cert.publicKey = rsa.publicKey;
        cert.serialNumber = '01';
        cert.validity.notBefore = new Date(now);
        cert.validity.notAfter = new Date(now + 86_400_000);
        cert.setExtensions([
          { name: 'subjectAltName', altNames: [{ type: 6, value: 'spiffe://public/ns/default/bench' }] },
        ]);
        cert.sign(rsa.privateKey, forge.md.sha256.create());
      }),
    );
    rows.push(
      await measure('CertificateAuthority.sign (CSR verify + forge asn1 + node:crypto)', d, 1, () =>
        sentry.ca.sign({ csrPem, spiffeId: 'spiffe://public/ns/default/bench' }),
      ),
    );
    const request = {
      id: 'bench',
      token: '',
      trust_domain: '',
      namespace: 'default',
      certificate_signing_request: Buffer.from(csrPem),
      token_validator: 'INSECURE',
    };
    const viaChannel = () =>
      new Promise<void>((resolve, reject) => {
        client.SignCertificate?.(request, (err) => (err === null ? resolve() : reject(err)));
      });
    await viaChannel();
    rows.push(
      await measure(
        `gRPC SignCertificate, reused TLS channel, ${settings.concurrency} in flight`,
        d,
        settings.concurrency,
        viaChannel,
      ),
    );
    rows.push(await measure('gRPC SignCertificate, one call at a time', d, 1, viaChannel));
    const anchors = await readFile(join(dir, 'ca.crt'), 'utf8');
    rows.push(
      await measure('gRPC SignCertificate, new TLS channel per call (sidecar renewal path)', d, 1, () =>
        requestCertificate(
          { address: `127.0.0.1:${sentry.port}`, spiffeId: sentry.spiffeId, timeoutMs: 5_000 },
          anchors,
          {
            csrPem,
            token: '',
            id: 'bench',
            namespace: 'default',
            trustDomain: '',
            tokenValidator: 'INSECURE',
          },
        ),
      ),
    );
  } finally {
    client.close();
    await sentry.close();
    await removeTempDir(dir);
  }
  return rows;
}

/** The bench runner's entry: rows as a markdown table. */
export async function benchSentrySigning(settings: BenchSettings): Promise<BenchTable> {
  const rows = await runSentryBench(settings);
  return {
    title: 'Sentry: workload certificate signing (ECDSA P-256)',
    columns: ['variant', 'ops', 'certs/s', 'p50 ms', 'p99 ms'],
    rows: rows.map((r) => [r.variant, String(r.ops), fmt(r.perSecond, 0), fmt(r.p50Ms, 3), fmt(r.p99Ms, 3)]),
    notes: [
      `${settings.durationMs / 1000}s per variant; sentry and client share the machine (gRPC rows include both sides).`,
      'forge cannot sign ECDSA certificates; its RSA row shows why signing goes through node:crypto.',
    ],
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const table = await benchSentrySigning(readSettings(process.env));
  process.stdout.write(renderTable(table));
}
