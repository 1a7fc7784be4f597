/**
 * The sidecar's workload identity: key + CSR → sentry → certificate, renewed at ~50% of validity,
 * retried with backoff while sentry is down (the current certificate keeps serving until it
 * expires), and a trust bundle that reloads from a watched file, sentry's answers or a callback.
 * Everything TLS reads comes from here at handshake time, so rotation needs no restart.
 */

import type { KeyObject } from 'node:crypto';
import { generateKeyPairSync, type X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { ConnectionOptions, SecureContext, SecureContextOptions, Server, TlsOptions } from 'node:tls';
import { createSecureContext } from 'node:tls';
import { MemoryCertificateProvider } from '../pki/certificate-provider.js';
import type { TokenValidatorName } from '../pki/proto/sentry-proto.js';
import { formatSpiffeId } from '../pki/spiffe-id.js';
import { certificatesToPem, parseCertificates, uriSans } from '../pki/x509/certificate.js';
import { createCsr } from '../pki/x509/csr.js';
import type { PeerPolicy } from './peer-verification.js';
import { enforcePeerPolicy, serverIdentityChecker } from './peer-verification.js';
import { renewalTime, retryDelay } from './renewal-time.js';
import type {
  CertificateIssuedEvent,
  CertificateRequestFailedEvent,
  IdentityInitFailedEvent,
  TrustBundleChangedEvent,
} from './security-events.js';
import { securityChannels } from './security-events.js';
import type { CertificateRequest, IssuedCertificate, SentryEndpoint } from './sentry-client.js';
import { requestCertificate, SentryRequestError } from './sentry-client.js';

/** Default location of the projected sentry token (Dapr pkg/security/token.go). */
export const DEFAULT_SENTRY_TOKEN_FILE = '/var/run/secrets/dapr.io/sentrytoken/token';

/** Minimal logger shape (structurally the sidecar's Logger). */
export interface SecurityLogger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** Options; validated at the flag boundary (sidecar/main) before they get here. */
export interface WorkloadIdentityOptions {
  readonly appId: string;
  readonly namespace: string;
  /** Trust domain to ask for ('' lets sentry decide; `public` for apps by default). */
  readonly trustDomain: string;
  readonly sentry: SentryEndpoint;
  /** Token file (`DAPR_SENTRY_TOKEN_FILE`, default {@link DEFAULT_SENTRY_TOKEN_FILE}); a missing file sends ''. */
  readonly tokenFile: string;
  readonly tokenValidator: TokenValidatorName;
  /** Initial trust anchors PEM (`DAPR_TRUST_ANCHORS`). */
  readonly trustAnchorsPem: string;
  /** Watched trust-bundle file (mounted ConfigMap `dapr-trust-bundle`), polled every `trustBundlePollMs`. */
  readonly trustAnchorsFile?: string;
  readonly trustBundlePollMs?: number;
  /** Peers accepted over mTLS; default: our own trust domain. */
  readonly peerPolicy?: PeerPolicy;
  /** First retry delay and cap (Dapr retries every 10 s). */
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
  readonly logger: SecurityLogger;
  /** Injected clock and randomness (tests). */
  readonly now?: () => number;
  readonly rand?: () => number;
  /** Replaces the sentry call (tests of the retry loop use real sentry; this is for embedding). */
  readonly request?: (
    endpoint: SentryEndpoint,
    trustAnchorsPem: string,
    req: CertificateRequest,
  ) => Promise<IssuedCertificate>;
}

/** The certificate currently served. */
export interface CurrentCertificate {
  readonly spiffeId: string;
  readonly certChainPem: string;
  readonly keyPem: string;
  readonly leaf: X509Certificate;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

type ChangeListener = (what: 'certificate' | 'trust-bundle') => void;

/** Holds and renews the sidecar's certificate and trust bundle. */
export class WorkloadIdentity {
  readonly #o: WorkloadIdentityOptions;
  readonly #now: () => number;
  readonly #rand: () => number;
  #current: CurrentCertificate | undefined;
  #anchorsPem: string;
  #secureContext: SecureContext | undefined;
  #timer: NodeJS.Timeout | undefined;
  #pollTimer: NodeJS.Timeout | undefined;
  #failures = 0;
  #closed = false;
  #inflight: Promise<void> | undefined;
  #lastFileContent: string | undefined;
  readonly #listeners = new Set<ChangeListener>();
  readonly #provider = new MemoryCertificateProvider();

  constructor(options: WorkloadIdentityOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#rand = options.rand ?? Math.random;
    this.#anchorsPem = normalizeBundle(options.trustAnchorsPem);
    this.#provider.setCaCertificate(this.#anchorsPem);
  }

  /** Our SPIFFE ID as requested (the issued one may differ in trust domain; see `current`). */
  get requestedSpiffeId(): string {
    return formatSpiffeId({
      trustDomain: this.#o.trustDomain || 'public',
      namespace: this.#o.namespace,
      appId: this.#o.appId,
    });
  }

  /** Gets the first certificate (retrying with backoff until it succeeds or `signal` aborts), then keeps renewing. */
  async start(signal?: AbortSignal): Promise<void> {
    if (this.#o.trustAnchorsFile !== undefined) {
      await this.#pollTrustFile();
      this.#pollTimer = setInterval(() => void this.#pollTrustFile(), this.#o.trustBundlePollMs ?? 5_000);
      this.#pollTimer.unref();
    }
    for (;;) {
      try {
        await this.renewNow();
        return;
      } catch (err) {
        if (signal?.aborted || this.#closed) throw err;
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, this.#nextRetryDelay());
          signal?.addEventListener(
            'abort',
            () => {
              clearTimeout(t);
              resolve();
            },
            { once: true },
          );
        });
      }
    }
  }

  /** The certificate being served, if any. */
  current(): CurrentCertificate | undefined {
    return this.#current;
  }

  /** The trust bundle (PEM roots) in use. */
  trustAnchorsPem(): string {
    return this.#anchorsPem;
  }

  /** Called on every certificate or trust-bundle change; returns an unsubscribe function. */
  onChange(listener: ChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Replaces the trust bundle (e.g. from the operator's stream). */
  updateTrustAnchors(pem: string): void {
    this.#setAnchors(pem, 'callback');
  }

  /** Requests a fresh key and certificate now; concurrent calls share one request. */
  async renewNow(): Promise<void> {
    this.#inflight ??= this.#renew().finally(() => {
      this.#inflight = undefined;
    });
    await this.#inflight;
  }

  async #renew(): Promise<void> {
    const keys = localStep('prikeygen', () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' }));
    const csrPem = localStep('csr', () => createCsr(keys.privateKey, keys.publicKey));
    const token = await readToken(this.#o.tokenFile);
    const request = this.#o.request ?? requestCertificate;
    let issued: IssuedCertificate;
    try {
      issued = await request(this.#o.sentry, this.#anchorsPem, {
        csrPem,
        token,
        id: this.#o.appId,
        namespace: this.#o.namespace,
        trustDomain: this.#o.trustDomain,
        tokenValidator: this.#o.tokenValidator,
      });
    } catch (err) {
      this.#failures++;
      const retryInMs = this.#nextRetryDelay();
      const event: CertificateRequestFailedEvent = {
        error: (err as Error).message,
        reason: failureReason(err),
        failures: this.#failures,
        retryInMs,
        currentNotAfter: this.#current?.notAfter ?? null,
      };
      securityChannels.certificateRequestFailed.publish(event);
      this.#o.logger.warn('Certificate request to sentry failed; retrying', { ...event });
      if (this.#current !== undefined) this.#schedule(this.#now() + retryInMs);
      throw err;
    }
    this.#failures = 0;
    if (issued.trustAnchorsPem.trim() !== '') this.#setAnchors(issued.trustAnchorsPem, 'sentry');
    this.#install(issued.certChainPem, keys.privateKey);
  }

  #install(certChainPem: string, privateKey: KeyObject): void {
    const rotation = this.#current !== undefined;
    const chain = parseCertificates(certChainPem);
    const leaf = chain[0];
    if (leaf === undefined) throw new Error('sentry returned no certificate');
    if (!leaf.checkPrivateKey(privateKey)) throw new Error('sentry returned a certificate for another key');
    const notBefore = new Date(leaf.validFrom);
    const notAfter = new Date(leaf.validTo);
    this.#current = {
      spiffeId: uriSans(leaf)[0] ?? '',
      certChainPem: certificatesToPem(chain),
      keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      leaf,
      notBefore,
      notAfter,
    };
    this.#provider.setIdentity(this.#current.certChainPem, this.#current.keyPem);
    const renewAt = renewalTime(notBefore.getTime(), notAfter.getTime(), this.#now(), this.#rand);
    this.#schedule(renewAt);
    const event: CertificateIssuedEvent = {
      spiffeId: this.#current.spiffeId,
      notBefore,
      notAfter,
      expiryTimestampSeconds: Math.floor(notAfter.getTime() / 1000),
      renewAt: new Date(renewAt),
      rotation,
    };
    securityChannels.certificateIssued.publish(event);
    this.#o.logger.info('Workload certificate installed', {
      spiffeId: event.spiffeId,
      notAfter: notAfter.toISOString(),
      renewAt: event.renewAt.toISOString(),
    });
    this.#changed('certificate');
  }

  #nextRetryDelay(): number {
    return retryDelay(
      Math.max(1, this.#failures),
      this.#o.retryBaseMs ?? 1_000,
      this.#o.retryMaxMs ?? 10_000,
      this.#rand,
    );
  }

  #schedule(at: number): void {
    if (this.#closed) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    // setTimeout caps at ~24.8 days; re-check at least daily.
    const delay = Math.min(Math.max(0, at - this.#now()), 86_400_000);
    this.#timer = setTimeout(() => {
      if (this.#now() + 5 < at) {
        this.#schedule(at);
        return;
      }
      this.renewNow().catch(() => {
        /* already logged and rescheduled */
      });
    }, delay);
    this.#timer.unref();
  }

  async #pollTrustFile(): Promise<void> {
    const file = this.#o.trustAnchorsFile;
    if (file === undefined) return;
    try {
      const pem = await readFile(file, 'utf8');
      // Apply only when the file changed, so bundles from other sources are not reverted.
      if (pem === this.#lastFileContent) return;
      this.#lastFileContent = pem;
      if (parseCertificates(pem).length > 0) this.#setAnchors(pem, 'file');
    } catch (err) {
      this.#o.logger.warn('Cannot read the trust bundle file; keeping the current bundle', {
        file,
        error: (err as Error).message,
      });
    }
  }

  #setAnchors(pem: string, source: TrustBundleChangedEvent['source']): void {
    const normalized = normalizeBundle(pem);
    if (normalized === this.#anchorsPem || normalized === '') return;
    this.#anchorsPem = normalized;
    this.#provider.setCaCertificate(normalized);
    const roots = parseCertificates(normalized);
    const event: TrustBundleChangedEvent = { roots: roots.length, source };
    securityChannels.trustBundleChanged.publish(event);
    this.#o.logger.info('Trust bundle changed', { ...event });
    this.#changed('trust-bundle');
    // Our chain no longer anchors (its root was removed): get a certificate from the new root now.
    const current = this.#current;
    if (current !== undefined && !chainsTo(parseCertificates(current.certChainPem), roots)) {
      this.renewNow().catch(() => {
        /* logged; the retry loop continues */
      });
    }
  }

  #changed(what: 'certificate' | 'trust-bundle'): void {
    this.#secureContext = undefined;
    for (const l of this.#listeners) l(what);
  }

  /** TLS material for node:tls / https: key, chain and trust anchors as of now. */
  secureContextOptions(): SecureContextOptions {
    const cur = this.#current;
    if (cur === undefined) throw new Error('no workload certificate yet (start() has not finished)');
    return { key: cur.keyPem, cert: cur.certChainPem, ca: this.#anchorsPem, minVersion: 'TLSv1.2' };
  }

  /** A SecureContext for the current certificate and bundle (cached until either changes). */
  secureContext(): SecureContext {
    this.#secureContext ??= createSecureContext(this.secureContextOptions());
    return this.#secureContext;
  }

  /** Options for `tls.createServer`/`https.createServer`: mTLS required. Pair with `attachServer`. */
  tlsServerOptions(): TlsOptions {
    return { ...this.secureContextOptions(), requestCert: true, rejectUnauthorized: true };
  }

  /** Options for `tls.connect`/`https.request`: present our certificate, verify the server's SPIFFE ID. */
  tlsClientOptions(policy: PeerPolicy = this.#defaultPolicy()): ConnectionOptions {
    return {
      secureContext: this.secureContext(),
      rejectUnauthorized: true,
      checkServerIdentity: serverIdentityChecker(policy),
    };
  }

  /**
   * Keeps a TLS server on the current certificate and bundle (setSecureContext on every change)
   * and enforces the peer policy on accepted connections. While attached, chain verification
   * failures are rejected by the policy hook too, so `onReject` learns OpenSSL's reason (e.g.
   * CERT_HAS_EXPIRED) instead of a silent reset. Returns a detach function (restores the
   * server's own rejectUnauthorized).
   */
  attachServer(
    server: Server,
    policy: PeerPolicy = this.#defaultPolicy(),
    onReject?: (err: Error) => void,
  ): () => void {
    const update = (): void => server.setSecureContext(this.secureContextOptions());
    update();
    const off = this.onChange(update);
    const unenforce = enforcePeerPolicy(server, policy, onReject);
    // node:tls copies this server property onto each accepted socket.
    const tunable = server as Server & { rejectUnauthorized?: boolean };
    const previous = tunable.rejectUnauthorized;
    tunable.rejectUnauthorized = false;
    return () => {
      tunable.rejectUnauthorized = previous ?? true;
      off();
      unenforce();
    };
  }

  /** grpc-js CertificateProvider (both CA and identity) that always has the current material. */
  certificateProvider(): MemoryCertificateProvider {
    return this.#provider;
  }

  #defaultPolicy(): PeerPolicy {
    const td = this.#current !== undefined ? this.#current.spiffeId.split('/')[2] : undefined;
    return { trustDomains: [td ?? (this.#o.trustDomain || 'public')] };
  }

  /** Stops renewal and file polling; the current certificate stays readable. */
  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#pollTimer !== undefined) clearInterval(this.#pollTimer);
  }
}

async function readToken(file: string): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}

function normalizeBundle(pem: string): string {
  return certificatesToPem(parseCertificates(pem));
}

/** Whether the top of `chain` is issued by (or is) one of `roots`. */
function chainsTo(chain: readonly X509Certificate[], roots: readonly X509Certificate[]): boolean {
  const top = chain[chain.length - 1];
  if (top === undefined) return false;
  return roots.some((r) => r.raw.equals(top.raw) || (top.checkIssued(r) && top.verify(r.publicKey)));
}

/** Flags and env the sidecar passes in (daprd: `--sentry-address`, `--app-id`, env below). */
export interface IdentityEnvironmentInput {
  readonly appId: string;
  /** `--sentry-address`, e.g. `dapr-sentry.dapr-system.svc.cluster.local:443`. */
  readonly sentryAddress: string;
  readonly env: NodeJS.ProcessEnv;
  readonly logger: SecurityLogger;
  /** Mounted ConfigMap `dapr-trust-bundle` file, when the injector mounts it. */
  readonly trustAnchorsFile?: string;
}

/**
 * Builds identity options from Dapr's sidecar environment: `NAMESPACE`, `DAPR_TRUST_ANCHORS`,
 * `DAPR_CONTROLPLANE_NAMESPACE`, `DAPR_CONTROLPLANE_TRUST_DOMAIN`, `DAPR_SENTRY_TOKEN_FILE`,
 * `SENTRY_LOCAL_IDENTITY` (overrides the app id, as in daprd).
 */
export function identityOptionsFromEnvironment(input: IdentityEnvironmentInput): WorkloadIdentityOptions {
  const { env } = input;
  const cpNamespace = env.DAPR_CONTROLPLANE_NAMESPACE ?? 'dapr-system';
  const cpTrustDomain = env.DAPR_CONTROLPLANE_TRUST_DOMAIN ?? 'cluster.local';
  return {
    appId: env.SENTRY_LOCAL_IDENTITY ?? input.appId,
    namespace: env.NAMESPACE ?? 'default',
    trustDomain: '',
    sentry: {
      address: input.sentryAddress,
      spiffeId: formatSpiffeId({ trustDomain: cpTrustDomain, namespace: cpNamespace, appId: 'dapr-sentry' }),
      timeoutMs: 3_000,
    },
    tokenFile: env.DAPR_SENTRY_TOKEN_FILE ?? DEFAULT_SENTRY_TOKEN_FILE,
    tokenValidator: 'UNKNOWN',
    trustAnchorsPem: env.DAPR_TRUST_ANCHORS ?? '',
    ...(input.trustAnchorsFile === undefined ? {} : { trustAnchorsFile: input.trustAnchorsFile }),
    logger: input.logger,
  };
}

/** Runs a step of making a certificate request; its failure is published with daprd's reason. */
function localStep<T>(reason: IdentityInitFailedEvent['reason'], step: () => T): T {
  try {
    return step();
  } catch (err) {
    const event: IdentityInitFailedEvent = { reason, error: (err as Error).message };
    securityChannels.identityInitFailed.publish(event);
    throw err;
  }
}

/** daprd's failure reason: sentry not reached (no gRPC status, or Unavailable/DeadlineExceeded), or refused. */
function failureReason(err: unknown): 'sentry_conn' | 'sign' {
  if (!(err instanceof SentryRequestError)) return 'sentry_conn';
  const code = err.grpcCode;
  return code === undefined || code === 14 || code === 4 ? 'sentry_conn' : 'sign';
}
