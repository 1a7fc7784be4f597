import type { Request, Response } from 'express';
import type { ApiContext } from '../universal/context.js';
import {
  assertTransactional,
  deleteState,
  executeStateTransaction,
  getBulkState,
  getState,
  resolveStateStore,
  saveState,
} from '../universal/state.js';
import { queryState } from '../universal/state-query.js';
import { readJsonBody, readRawBody } from './body.js';
import { decodeBulkGetBody, decodeOptions, decodeSaveBody, decodeTransactionBody } from './request-decode.js';
import { metadataFromQuery, param, queryValue } from './request-metadata.js';
import { rawJson, sendData, sendEmpty, setMetadataHeaders } from './respond.js';
import type { RouteOptions, RouteSpec } from './route.js';

/** State API routes (daprd's constructStateEndpoints): decode, call the universal API, encode. */
export function stateRoutes(ctx: ApiContext, opts: RouteOptions): RouteSpec[] {
  const limit = opts.maxBodyBytes;

  const onGet = async (req: Request, res: Response): Promise<void> => {
    const consistency = decodeOptions(undefined, queryValue(req, 'consistency'))?.consistency;
    const result = await getState(ctx, {
      storeName: param(req, 'storeName'),
      key: param(req, 'key'),
      metadata: metadataFromQuery(req),
      ...(consistency === undefined ? {} : { consistency }),
    });
    if (result === undefined || result.data === undefined) {
      sendEmpty(res);
      return;
    }
    if (result.etag !== undefined) res.setHeader('ETag', result.etag);
    setMetadataHeaders(res, result.metadata);
    // daprd answers application/json whatever the stored bytes are.
    sendData(res, 200, result.data);
  };

  const onSave = async (req: Request, res: Response): Promise<void> => {
    const storeName = param(req, 'storeName');
    resolveStateStore(ctx, storeName);
    // daprd reports decode errors of this route without the "failed deserializing" prefix.
    const body = await readJsonBody(req, limit, '');
    const items = decodeSaveBody(body, metadataFromQuery(req));
    await saveState(ctx, { storeName, items });
    sendEmpty(res);
  };

  const onDelete = async (req: Request, res: Response): Promise<void> => {
    const options = decodeOptions(queryValue(req, 'concurrency'), queryValue(req, 'consistency'));
    const ifMatch = req.headers['if-match'];
    await deleteState(ctx, {
      storeName: param(req, 'storeName'),
      key: param(req, 'key'),
      metadata: metadataFromQuery(req),
      ...(ifMatch === undefined ? {} : { etag: ifMatch }),
      ...(options === undefined ? {} : { options }),
    });
    sendEmpty(res);
  };

  const onBulkGet = async (req: Request, res: Response): Promise<void> => {
    const storeName = param(req, 'storeName');
    resolveStateStore(ctx, storeName);
    const decoded = decodeBulkGetBody(await readJsonBody(req, limit), metadataFromQuery(req));
    const items = await getBulkState(ctx, { storeName, ...decoded });
    const parts = items.map((i) => {
      let s = `{"key":${JSON.stringify(i.key)}`;
      if (i.data !== undefined) s += `,"data":${rawJson(i.data)}`;
      if (i.etag !== undefined) s += `,"etag":${JSON.stringify(i.etag)}`;
      if (i.metadata !== undefined) s += `,"metadata":${JSON.stringify(i.metadata)}`;
      if (i.error !== undefined) s += `,"error":${JSON.stringify(i.error)}`;
      return `${s}}`;
    });
    sendData(res, 200, `[${parts.join(',')}]`);
  };

  const onTransaction = async (req: Request, res: Response): Promise<void> => {
    const storeName = param(req, 'storeName');
    assertTransactional(ctx, storeName);
    const decoded = decodeTransactionBody(await readJsonBody(req, limit), metadataFromQuery(req));
    await executeStateTransaction(ctx, { storeName, ...decoded });
    sendEmpty(res);
  };

  const onQuery = async (req: Request, res: Response): Promise<void> => {
    const storeName = param(req, 'storeName');
    resolveStateStore(ctx, storeName);
    // daprd passes the raw body to the store's parser: parse failures are ERR_STATE_QUERY.
    const raw = await readRawBody(req, limit);
    const result = await queryState(ctx, {
      storeName,
      query: raw.toString('utf8'),
      metadata: metadataFromQuery(req),
    });
    if (result.results.length === 0) {
      sendEmpty(res);
      return;
    }
    const rows = result.results.map((r) => {
      let s = `{"key":${JSON.stringify(r.key)},"data":${rawJson(r.data)}`;
      if (r.etag !== undefined) s += `,"etag":${JSON.stringify(r.etag)}`;
      if (r.error !== undefined) s += `,"error":${JSON.stringify(r.error)}`;
      return `${s}}`;
    });
    let body = `{"results":[${rows.join(',')}]`;
    if (result.token !== undefined) body += `,"token":${JSON.stringify(result.token)}`;
    if (result.metadata !== undefined) body += `,"metadata":${JSON.stringify(result.metadata)}`;
    sendData(res, 200, `${body}}`);
  };

  return [
    { methods: ['get'], path: '/v1.0/state/:storeName/:key', name: 'GetState', handler: onGet },
    { methods: ['post', 'put'], path: '/v1.0/state/:storeName', name: 'SaveState', handler: onSave },
    { methods: ['delete'], path: '/v1.0/state/:storeName/:key', name: 'DeleteState', handler: onDelete },
    {
      methods: ['post', 'put'],
      path: '/v1.0/state/:storeName/bulk',
      name: 'GetBulkState',
      handler: onBulkGet,
    },
    {
      methods: ['post', 'put'],
      path: '/v1.0/state/:storeName/transaction',
      name: 'ExecuteStateTransaction',
      handler: onTransaction,
    },
    {
      methods: ['post', 'put'],
      path: '/v1.0-alpha1/state/:storeName/query',
      name: 'QueryStateAlpha1',
      handler: onQuery,
    },
  ];
}
