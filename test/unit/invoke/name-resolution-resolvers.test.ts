import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { ComponentInit, Logger } from '../../../sidecar/components/component.js';
import { validateMetadata } from '../../../sidecar/components/metadata-schema.js';
import type {
  NameResolver,
  SelfRegistering,
} from '../../../sidecar/components/nameresolution/name-resolver.js';
import { NAMERESOLUTION_REGISTRATIONS } from '../../../sidecar/components/nameresolution/registrations.js';
import { makeTempDir, removeTempDir } from '../../env/process.js';

/** The standalone registry, Kubernetes DNS and static resolvers. */

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };
const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await removeTempDir(d);
});

async function resolver(type: string, raw: Record<string, string>): Promise<NameResolver> {
  const reg = NAMERESOLUTION_REGISTRATIONS.find((r) => r.type === type);
  assert.ok(reg, type);
  const r = reg.create();
  const init: ComponentInit = {
    name: type,
    type,
    version: 'v1',
    metadata: validateMetadata(reg.schema, raw),
    appId: 'me',
    namespace: 'default',
    logger: silent,
    dataDir: '',
  };
  await r.init(init);
  return r;
}

describe('name resolution', () => {
  it('local registry: registers, resolves every live instance, unregisters on close', async () => {
    const dir = await makeTempDir('nr');
    dirs.push(dir);
    const one = (await resolver('nameresolution.outrigger-local', { registryDir: dir })) as NameResolver &
      SelfRegistering;
    const two = (await resolver('nameresolution.outrigger-local', { registryDir: dir })) as NameResolver &
      SelfRegistering;
    await one.register({
      appId: 'orders',
      namespace: 'default',
      host: '127.0.0.1',
      port: 1111,
      pid: process.pid,
    });
    await two.register({
      appId: 'orders',
      namespace: 'default',
      host: '127.0.0.1',
      port: 2222,
      pid: process.pid,
    });
    assert.deepEqual([...(await one.resolve({ appId: 'orders', namespace: 'default', port: 0 }))].sort(), [
      '127.0.0.1:1111',
      '127.0.0.1:2222',
    ]);
    assert.deepEqual(await one.resolve({ appId: 'orders', namespace: 'other', port: 0 }), []);
    await two.close();
    assert.deepEqual(await one.resolve({ appId: 'orders', namespace: 'default', port: 0 }), [
      '127.0.0.1:1111',
    ]);
    await one.close();
    assert.deepEqual(await one.resolve({ appId: 'orders', namespace: 'default', port: 0 }), []);
  });

  it('local registry: ignores and prunes entries of processes that are gone', async () => {
    const dir = await makeTempDir('nr-stale');
    dirs.push(dir);
    const child = spawn(process.execPath, ['-e', '0']);
    const pid = child.pid as number;
    await new Promise((resolve) => child.once('exit', resolve));
    const r = (await resolver('nameresolution.outrigger-local', { registryDir: dir })) as NameResolver &
      SelfRegistering;
    await r.register({ appId: 'ghost', namespace: 'default', host: '127.0.0.1', port: 3333, pid });
    assert.deepEqual(await r.resolve({ appId: 'ghost', namespace: 'default', port: 0 }), []);
    assert.deepEqual(await readdir(join(dir, 'default', 'ghost')), []);
  });

  it('kubernetes: <app>-dapr.<ns>.svc.<clusterDomain>:<port>, cluster domain configurable', async () => {
    const def = await resolver('nameresolution.kubernetes', {});
    assert.deepEqual(await def.resolve({ appId: 'orders', namespace: 'shop', port: 50002 }), [
      'orders-dapr.shop.svc.cluster.local:50002',
    ]);
    const custom = await resolver('nameresolution.kubernetes', { clusterDomain: 'corp.example' });
    assert.deepEqual(await custom.resolve({ appId: 'a', namespace: 'b', port: 1 }), [
      'a-dapr.b.svc.corp.example:1',
    ]);
  });

  it('static: a fixed table, namespaced keys first', async () => {
    const r = await resolver('nameresolution.outrigger-static', {
      orders: '10.0.0.1:50002, 10.0.0.2:50002',
      'orders.shop': '10.1.0.1:50002',
    });
    assert.deepEqual(await r.resolve({ appId: 'orders', namespace: 'default', port: 0 }), [
      '10.0.0.1:50002',
      '10.0.0.2:50002',
    ]);
    assert.deepEqual(await r.resolve({ appId: 'orders', namespace: 'shop', port: 0 }), ['10.1.0.1:50002']);
    assert.deepEqual(await r.resolve({ appId: 'nobody', namespace: 'default', port: 0 }), []);
  });
});
