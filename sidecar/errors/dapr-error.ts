import { CATALOGUE, type ErrorCode } from './catalogue.js';

export { GrpcCode } from './grpc-code.js';

/** One entry of the `details` array of a rich Dapr error (google.rpc.* JSON form). */
export type ErrorDetail = Record<string, unknown> & { '@type': string };

/** Options for a single DaprError instance. */
export interface DaprErrorOptions {
  /** Overrides the catalogue's HTTP status (some codes are used with several statuses in daprd). */
  readonly httpStatus?: number;
  readonly grpcCode?: number;
  readonly details?: readonly ErrorDetail[];
  readonly cause?: unknown;
  /** Extra HTTP response headers (e.g. `metadata.<k>` from a component). */
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * The one error type that crosses the API boundary. It carries Dapr's exact `ERR_*` code,
 * HTTP status and gRPC code; adapters render it, they never invent codes.
 */
export class DaprError extends Error {
  override readonly name = 'DaprError';
  readonly code: ErrorCode;
  readonly httpStatus: number;
  readonly grpcCode: number;
  readonly details: readonly ErrorDetail[];
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: ErrorCode, message: string, options: DaprErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    const entry = CATALOGUE[code];
    this.code = code;
    this.httpStatus = options.httpStatus ?? entry.http;
    this.grpcCode = options.grpcCode ?? entry.grpc;
    this.details = options.details ?? [];
    this.headers = options.headers ?? {};
  }

  /** The JSON body daprd sends over HTTP: `{errorCode, message, details?}`. */
  toJSON(): { errorCode: string; message: string; details?: readonly ErrorDetail[] } {
    return this.details.length > 0
      ? { errorCode: this.code, message: this.message, details: this.details }
      : { errorCode: this.code, message: this.message };
  }
}

/** Builds a google.rpc.ErrorInfo detail with Dapr's domain. */
export function errorInfo(reason: string, metadata: Record<string, string> = {}): ErrorDetail {
  return { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason, domain: 'dapr.io', metadata };
}

/** Builds a google.rpc.ResourceInfo detail. */
export function resourceInfo(resourceType: string, resourceName: string, description = ''): ErrorDetail {
  return {
    '@type': 'type.googleapis.com/google.rpc.ResourceInfo',
    resource_type: resourceType,
    resource_name: resourceName,
    owner: '',
    description,
  };
}

/** True when `err` is a DaprError. */
export function isDaprError(err: unknown): err is DaprError {
  return err instanceof DaprError;
}
