import type { Request, Response } from 'express';

/** One HTTP endpoint: verb(s), the full path template, daprd's endpoint name and the handler. */
export interface RouteSpec {
  readonly methods: readonly ('get' | 'post' | 'put' | 'delete')[];
  /** Express path template, e.g. `/v1.0/state/:storeName/:key`; also the metrics route label. */
  readonly path: string;
  /** daprd's endpoint name (GetState, SaveState, …). */
  readonly name: string;
  /** Health checks skip API logging (daprd's default) and the API token. */
  readonly healthCheck?: boolean;
  readonly handler: (req: Request, res: Response) => Promise<void> | void;
}

/** Options the route builders need. */
export interface RouteOptions {
  readonly maxBodyBytes: number;
}
