/**
 * Sentry: loads or bootstraps the CA, serves `dapr.proto.sentry.v1.CA/SignCertificate` over TLS
 * with its own SVID, and reloads credentials when the store changes (Dapr: "Issuer credentials
 * changed; reloading"), without a restart and without dropping the listener.
 */
import * as grpc from '@grpc/grpc-js';
import { MemoryCertificateProvider } from '../../sidecar/pki/certificate-provider.js';
import type {
  SignCertificateRequest,
  SignCertificateResponse,
  TokenValidatorName,
} from '../../sidecar/pki/proto/sentry-proto.js';
import { loadSentryService } from '../../sidecar/pki/proto/sentry-proto.js';
import { formatSpiffeId } from '../../sidecar/pki/spiffe-id.js';
import { certificatesToPem } from '../../sidecar/pki/x509/certificate.js';
import { CsrError } from '../../sidecar/pki/x509/csr.js';
import type { CaBundle } from './ca-bundle.js';
import { bootstrapCaBundle, generateP256, parseCaBundle, privateKeyToPem } from './ca-bundle.js';
import type { CaStore } from './ca-store.js';
import { bundleFingerprint } from './ca-store.js';
import type { SignedCertificate } from './certificate-authority.js';
import { CertificateAuthority } from './certificate-authority.js';
import { ExpiryWarner } from './expiry-watch.js';
import type { SentryLogger } from './logger.js';
import type { SentryMetrics } from './metrics.js';
import type { TokenValidator, ValidatedIdentity } from './validators.js';
import { ValidationError } from './validators.js';

/** Everything sentry needs; validated by the caller (config.ts) before it gets here. */
export interface SentryServerOptions {
  readonly store: CaStore;
  /** Control-plane trust domain (root subject, sentry's own SPIFFE ID). */
  readonly trustDomain: string;
  /** Namespace sentry runs in. */
  readonly namespace: string;
  readonly host: string;
  /** 0 picks a free port (tests). */
  readonly port: number;
  /** Enabled validators by proto name; `UNKNOWN` in a request means `defaultValidator`. */
  readonly validators: Partial<Record<Exclude<TokenValidatorName, 'UNKNOWN'>, TokenValidator>>;
  readonly defaultValidator: Exclude<TokenValidatorName, 'UNKNOWN'>;
  readonly workloadTtlMs: number;
  readonly skewMs: number;
  /** Validity of a bootstrapped root and issuer. */
  readonly caValidityMs: number;
  /** How often the store is polled for new credentials. */
  readonly reloadIntervalMs: number;
  readonly metrics: SentryMetrics;
  readonly logger: SentryLogger;
  /** Injected clock, ms since epoch. */
  readonly now: () => number;
}

/** A running sentry. */
export class SentryServer {
  readonly #opts: SentryServerOptions;
  readonly #provider = new MemoryCertificateProvider();
  #ca: CertificateAuthority | undefined;
  #fingerprint = '';
  #server: grpc.Server | undefined;
  #timer: NodeJS.Timeout | undefined;
  #servingRenewAt = 0;
  #port = 0;
  #reloading: Promise<void> | undefined;
  readonly #expiry: ExpiryWarner;

  constructor(opts: SentryServerOptions) {
    this.#opts = opts;
    this.#expiry = new ExpiryWarner(opts.logger);
  }

  /** The SPIFFE ID sentry serves with: `spiffe://<td>/ns/<ns>/dapr-sentry`. */
  get spiffeId(): string {
    return formatSpiffeId({
      trustDomain: this.#opts.trustDomain,
      namespace: this.#opts.namespace,
      appId: 'dapr-sentry',
    });
  }

  /** Port the gRPC server listens on. */
  get port(): number {
    return this.#port;
  }

  /** Current CA (after start). */
  get ca(): CertificateAuthority {
    if (this.#ca === undefined) throw new Error('sentry not started');
    return this.#ca;
  }

  /** Loads or creates credentials, then listens. */
  async start(): Promise<void> {
    const { store, logger } = this.#opts;
    let pem = await store.load();
    let bundle: CaBundle;
    if (pem === undefined) {
      logger.info('No issuer credentials found; generating a self-signed root and issuer', {
        store: store.description,
      });
      bundle = bootstrapCaBundle({
        trustDomain: this.#opts.trustDomain,
        namespace: this.#opts.namespace,
        validityMs: this.#opts.caValidityMs,
        skewMs: this.#opts.skewMs,
        now: new Date(this.#opts.now()),
      });
      await store.save(bundle.pem);
      pem = bundle.pem;
    } else {
      bundle = parseCaBundle(pem);
      await store.publishTrustAnchors(pem.caCrt);
    }
    this.#fingerprint = bundleFingerprint(pem);
    this.#ca = new CertificateAuthority(bundle, {
      workloadTtlMs: this.#opts.workloadTtlMs,
      skewMs: this.#opts.skewMs,
      now: this.#opts.now,
    });
    this.#applyBundle(bundle);

    const server = new grpc.Server();
    server.addService(loadSentryService(), { SignCertificate: this.#handleSign });
    const credentials = grpc.experimental.createCertificateProviderServerCredentials(
      this.#provider,
      this.#provider,
      false,
    );
    this.#port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(`${this.#opts.host}:${this.#opts.port}`, credentials, (err, port) =>
        err ? reject(err) : resolve(port),
      );
    });
    this.#server = server;
    this.#timer = setInterval(() => void this.reload(), this.#opts.reloadIntervalMs);
    this.#timer.unref();
    logger.info('Sentry CA listening', {
      port: this.#port,
      spiffeId: this.spiffeId,
      store: store.description,
    });
  }

  /** Checks the store now; swaps credentials when they changed. Safe to call concurrently. */
  async reload(): Promise<void> {
    this.#reloading ??= this.#reloadOnce().finally(() => {
      this.#reloading = undefined;
    });
    await this.#reloading;
  }

  async #reloadOnce(): Promise<void> {
    const { logger } = this.#opts;
    try {
      const pem = await this.#opts.store.load();
      if (pem !== undefined && bundleFingerprint(pem) !== this.#fingerprint) {
        const bundle = parseCaBundle(pem);
        logger.info('Issuer credentials changed; reloading', { roots: bundle.trustAnchors.length });
        this.ca.update(bundle);
        this.#fingerprint = bundleFingerprint(pem);
        this.#opts.metrics.issuerCertChanged.inc();
        await this.#opts.store.publishTrustAnchors(pem.caCrt);
        this.#applyBundle(bundle);
        return;
      }
    } catch (err) {
      logger.error('Failed to reload issuer credentials; keeping the current ones', {
        error: (err as Error).message,
      });
    }
    if (this.#opts.now() >= this.#servingRenewAt) this.#issueServingCertificate();
    this.#expiry.check(this.ca.bundle, this.#opts.now());
  }

  /** New bundle: re-issue sentry's own SVID from it, update trust anchors, metrics and warnings. */
  #applyBundle(bundle: CaBundle): void {
    this.#provider.setCaCertificate(certificatesToPem(bundle.trustAnchors));
    this.#issueServingCertificate();
    const issuer = bundle.issuerChain[0];
    if (issuer !== undefined)
      this.#opts.metrics.issuerCertExpiry.set(Math.floor(new Date(issuer.validTo).getTime() / 1000));
    const earliestRoot = Math.min(...bundle.trustAnchors.map((c) => new Date(c.validTo).getTime()));
    this.#opts.metrics.rootCertExpiry.set(Math.floor(earliestRoot / 1000));
    this.#expiry.check(bundle, this.#opts.now());
  }

  #issueServingCertificate(): void {
    const keys = generateP256();
    const ns = this.#opts.namespace;
    const signed = this.ca.signPublicKey(keys.publicKey, {
      spiffeId: this.spiffeId,
      dnsNames: [`dapr-sentry.${ns}.svc`, `dapr-sentry.${ns}.svc.cluster.local`, 'localhost'],
    });
    this.#provider.setIdentity(signed.certChainPem, privateKeyToPem(keys.privateKey));
    const nb = this.#opts.now();
    this.#servingRenewAt = nb + (signed.notAfter.getTime() - nb) / 2;
  }

  readonly #handleSign = (
    call: grpc.ServerUnaryCall<SignCertificateRequest, SignCertificateResponse>,
    callback: grpc.sendUnaryData<SignCertificateResponse>,
  ): void => {
    void this.sign(call.request).then(
      (response) => callback(null, response),
      (err: { code: grpc.status; details: string }) =>
        callback({ code: err.code, details: err.details, name: 'SentryError', message: err.details }),
    );
  };

  /** The SignCertificate operation (also used directly by the bench); rejects with {code, details}. */
  async sign(request: SignCertificateRequest): Promise<SignCertificateResponse> {
    const { metrics, logger } = this.#opts;
    metrics.signRequestReceived.inc();
    const fail = (reason: string, code: grpc.status, details: string): never => {
      metrics.signFailure.inc({ reason });
      logger.warn('Refused certificate request', {
        reason,
        id: request.id,
        namespace: request.namespace,
        details,
      });
      throw { code, details };
    };
    const validatorName =
      request.token_validator === 'UNKNOWN' || (request.token_validator as string) === ''
        ? this.#opts.defaultValidator
        : request.token_validator;
    const validator = this.#opts.validators[validatorName as Exclude<TokenValidatorName, 'UNKNOWN'>];
    if (validator === undefined)
      return fail(
        'unknown_validator',
        grpc.status.INVALID_ARGUMENT,
        `token validator ${validatorName} is not enabled`,
      );
    if (request.certificate_signing_request.length === 0)
      return fail('csr_missing', grpc.status.INVALID_ARGUMENT, 'certificate_signing_request is empty');
    let identity: ValidatedIdentity;
    try {
      identity = await validator.validate(request);
    } catch (err) {
      if (err instanceof ValidationError)
        return fail(
          err.reason,
          grpc.status.PERMISSION_DENIED,
          `failed to validate the request: ${err.message}`,
        );
      return fail(
        'validator_error',
        grpc.status.PERMISSION_DENIED,
        `failed to validate the request: ${(err as Error).message}`,
      );
    }
    let signed: SignedCertificate;
    try {
      signed = this.ca.sign({
        csrPem: request.certificate_signing_request,
        spiffeId: formatSpiffeId(identity),
        dnsNames: identity.dnsNames,
      });
    } catch (err) {
      if (err instanceof CsrError) return fail('csr_invalid', grpc.status.INVALID_ARGUMENT, err.message);
      return fail('sign_error', grpc.status.INTERNAL, `failed to sign: ${(err as Error).message}`);
    }
    metrics.signSuccess.inc();
    const ms = signed.notAfter.getTime();
    return {
      workload_certificate: Buffer.from(signed.certChainPem),
      trust_chain_certificates: signed.trustAnchorsPem.map((p) => Buffer.from(p)),
      valid_until: { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 },
    };
  }

  /** Stops listening (in-flight calls finish) and the reload timer. */
  async close(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    const server = this.#server;
    this.#server = undefined;
    if (server === undefined) return;
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  }
}
