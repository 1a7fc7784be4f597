import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type {
  Component,
  ComponentInit,
  ComponentRegistration,
  Logger,
} from '../../../sidecar/components/component.js';
import { loadComponents, withKubernetesDefaults } from '../../../sidecar/components/loader.js';
import { ComponentRegistry } from '../../../sidecar/components/registry.js';
import { SECRET_REGISTRATIONS } from '../../../sidecar/components/secretstores/registrations.js';
import { readResources } from '../../../sidecar/runtime/resource-reader.js';
import { ResourceError } from '../../../sidecar/spec/problems.js';
import { recordingLogger } from '../recording-logger.js';

/** A fake state store that records what it was initialised with. */
class RecordingComponent implements Component {
  static inits: ComponentInit[] = [];
  static closed: string[] = [];
  readonly features = new Set(['ETAG']);
  #name = '';
  async init(init: ComponentInit): Promise<void> {
    this.#name = init.name;
    if (init.metadata.failInit === true) throw new Error('backend refused the connection');
    if (init.metadata.hang === true) await new Promise(() => undefined);
    RecordingComponent.inits.push(init);
  }
  async close(): Promise<void> {
    RecordingComponent.closed.push(this.#name);
  }
}

const fakeState: ComponentRegistration = {
  kind: 'state',
  type: 'state.fake',
  versions: ['v1'],
  schema: {
    host: { type: 'string', required: true },
    port: { type: 'integer', default: 6379, min: 1, max: 65535 },
    failInit: { type: 'boolean', default: false },
    hang: { type: 'boolean', default: false },
  },
  create: () => new RecordingComponent(),
};

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };
const registry = new ComponentRegistry([...SECRET_REGISTRATIONS, fakeState]);

let dir: string;
let n = 0;

async function load(yaml: string, appId = 'app1', env: Record<string, string> = {}) {
  const sub = join(dir, `case-${n++}`);
  await import('node:fs/promises').then((fs) => fs.mkdir(sub));
  await writeFile(join(sub, 'components.yaml'), yaml);
  const resources = await readResources([sub]);
  return {
    file: join(sub, 'components.yaml'),
    loaded: await loadComponents(resources.components, {
      registry,
      appId,
      namespace: 'default',
      logger: quiet,
      dataDir: dir,
      env,
    }),
  };
}

async function loadError(yaml: string, appId = 'app1'): Promise<ResourceError> {
  try {
    await load(yaml, appId);
  } catch (err) {
    assert.ok(err instanceof ResourceError, String(err));
    return err;
  }
  assert.fail('expected loading to fail');
}

const comp = (name: string, type: string, meta: string, extra = '') => `
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: ${name}
spec:
  type: ${type}
  version: v1
  metadata:${meta === '' ? ' []' : meta}
${extra}
`;

describe('component loading', () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outrigger-loader-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('validates metadata and passes typed values to init', async () => {
    RecordingComponent.inits = [];
    const { loaded } = await load(
      comp('store', 'state.fake', '\n  - name: host\n    value: localhost\n  - name: port\n    value: 7000'),
    );
    assert.equal(RecordingComponent.inits[0]?.metadata.port, 7000);
    assert.equal(loaded.stateStores.get('store')?.keyPrefix.kind, 'appid');
    assert.deepEqual(loaded.infos(), [
      { name: 'store', type: 'state.fake', version: 'v1', capabilities: ['ETAG'] },
    ]);
  });

  it('names the file, the component, the field and the rule for every problem at once', async () => {
    const err = await loadError(
      comp('a', 'state.fake', '\n  - name: port\n    value: many') +
        '---' +
        comp('b', 'state.nosuch', '') +
        '---' +
        comp('c', 'state.fake', '\n  - name: host\n    value: h', '').replace('version: v1', 'version: v9'),
    );
    const lines = err.problems.map((p) => `${p.resource} ${p.field}: ${p.rule}`);
    assert.ok(err.problems.every((p) => p.file.endsWith('components.yaml')));
    assert.ok(
      lines.some((l) => l.startsWith('Component/b spec.type: unknown component type "state.nosuch"')),
      lines.join('\n'),
    );
    assert.ok(
      lines.some((l) => l.startsWith('Component/c spec.version: version "v9" is not supported')),
      lines.join('\n'),
    );
    assert.equal(err.problems.length, 2, 'metadata is validated only once types are known');
    const metaErr = await loadError(comp('a', 'state.fake', '\n  - name: port\n    value: many'));
    const rules = metaErr.problems.map((p) => `${p.resource} ${p.field}: ${p.rule}`);
    assert.deepEqual(rules.sort(), [
      'Component/a host: is required',
      'Component/a port: must be an integer, got "many"',
    ]);
    assert.match(metaErr.message, /components\.yaml: Component\/a: field "host": is required/);
  });

  it('rejects duplicate component names', async () => {
    const one = comp('dup', 'state.fake', '\n  - name: host\n    value: h');
    const err = await loadError(`${one}---${one}`);
    assert.match(err.problems[0]?.rule ?? '', /duplicate component name "dup"/);
  });

  it('skips components whose scopes do not include the app id', async () => {
    const yaml =
      comp('mine', 'state.fake', '\n  - name: host\n    value: h', 'scopes: [app1]') +
      '---' +
      comp('theirs', 'state.fake', '\n  - name: host\n    value: h', 'scopes: [app2]');
    const { loaded } = await load(yaml, 'app1');
    assert.deepEqual([...loaded.stateStores.keys()], ['mine']);
  });

  it('skips, with a warning, components of building blocks Outrigger has not built yet', async () => {
    const sub = join(dir, `case-${n++}`);
    await mkdir(sub);
    await writeFile(
      join(sub, 'components.yaml'),
      [
        comp('store', 'state.fake', '\n  - name: host\n    value: h'),
        comp('pubsub', 'pubsub.redis', '\n  - name: redisHost\n    value: localhost:6379'),
        comp('cron', 'bindings.cron', '\n  - name: schedule\n    value: "@every 1s"'),
        comp('upper', 'middleware.http.uppercase', ''),
      ].join('---'),
    );
    const resources = await readResources([sub]);
    const { logger, warnings } = recordingLogger();
    const loaded = await loadComponents(resources.components, {
      registry,
      appId: 'app1',
      namespace: 'default',
      logger,
      dataDir: dir,
      env: {},
    });
    assert.deepEqual([...loaded.stateStores.keys()], ['store']);
    assert.deepEqual(
      warnings.filter((w) => w.includes('is not loaded')),
      [
        'Component pubsub (pubsub.redis/v1) is not loaded: Outrigger does not implement pub/sub yet',
        'Component cron (bindings.cron/v1) is not loaded: Outrigger does not implement bindings yet',
        'Component upper (middleware.http.uppercase/v1) is not loaded: Outrigger does not implement middleware pipelines yet',
      ],
    );
  });

  it("adds daprd's Kubernetes-mode defaults: the built-in kubernetes store, and it for bare secretKeyRefs", async () => {
    const sub = join(dir, `case-${n++}`);
    await mkdir(sub);
    await writeFile(
      join(sub, 'components.yaml'),
      [
        comp('store', 'state.fake', '\n  - name: host\n    secretKeyRef:\n      name: db\n      key: host'),
        comp('plain', 'state.fake', '\n  - name: host\n    value: h'),
      ].join('---'),
    );
    const { components } = await readResources([sub]);
    const withBuiltin = withKubernetesDefaults(components, { builtinSecretStore: true });
    assert.deepEqual(
      withBuiltin.map((c) => `${c.name}:${c.type}:${c.secretStore ?? '-'}:${c.ignoreErrors}`),
      [
        'kubernetes:secretstores.kubernetes:-:true',
        'store:state.fake:kubernetes:false',
        'plain:state.fake:-:false',
      ],
    );
    assert.deepEqual(
      withKubernetesDefaults(components, { builtinSecretStore: false }).map((c) => c.name),
      ['store', 'plain'],
    );
    const own = [{ ...components[1], name: 'kubernetes' } as (typeof components)[number]];
    assert.equal(
      withKubernetesDefaults(own, { builtinSecretStore: true }).length,
      1,
      'a component of that name wins',
    );
  });

  it('resolves secretKeyRef through auth.secretStore, loading secret stores first', async () => {
    RecordingComponent.inits = [];
    process.env.OUTRIGGER_TEST_HOST = 'db.internal';
    const yaml =
      comp(
        'store',
        'state.fake',
        '\n  - name: host\n    secretKeyRef:\n      name: OUTRIGGER_TEST_HOST\n      key: OUTRIGGER_TEST_HOST',
        'auth:\n  secretStore: envsecrets',
      ) +
      '---' +
      comp('envsecrets', 'secretstores.local.env', '');
    const { loaded } = await load(yaml);
    assert.equal(RecordingComponent.inits.at(-1)?.metadata.host, 'db.internal');
    assert.deepEqual(
      loaded.all.map((c) => c.name),
      ['envsecrets', 'store'],
    );
    delete process.env.OUTRIGGER_TEST_HOST;
  });

  it('fails when secretKeyRef names a secret store that does not exist', async () => {
    const err = await loadError(
      comp(
        'store',
        'state.fake',
        '\n  - name: host\n    secretKeyRef:\n      name: h\n      key: h',
        'auth:\n  secretStore: vault',
      ),
    );
    assert.deepEqual(
      err.problems.map((p) => [p.resource, p.field]),
      [['Component/store', 'auth.secretStore']],
    );
    assert.match(err.problems[0]?.rule ?? '', /secret store "vault" is not defined/);
  });

  it('interprets keyPrefix and actorStateStore itself and rejects a bad custom prefix', async () => {
    const { loaded } = await load(
      comp(
        's',
        'state.fake',
        '\n  - name: host\n    value: h\n  - name: keyPrefix\n    value: shared\n  - name: actorStateStore\n    value: "true"',
      ),
    );
    assert.deepEqual(loaded.stateStores.get('s')?.keyPrefix, { kind: 'custom', prefix: 'shared' });
    assert.equal(loaded.stateStores.get('s')?.actorStateStore, true);
    assert.equal(RecordingComponent.inits.at(-1)?.metadata.keyPrefix, undefined);
    for (const [value, kind] of [
      ['name', 'name'],
      ['NONE', 'none'],
      ['namespace', 'namespace'],
      ['appid', 'appid'],
    ] as const) {
      const r = await load(
        comp('s', 'state.fake', `\n  - name: host\n    value: h\n  - name: keyPrefix\n    value: ${value}`),
      );
      assert.equal(r.loaded.stateStores.get('s')?.keyPrefix.kind, kind);
    }
    const err = await loadError(
      comp('s', 'state.fake', '\n  - name: host\n    value: h\n  - name: keyPrefix\n    value: "a||b"'),
    );
    assert.equal(err.problems[0]?.field, 'keyPrefix');
  });

  it('stops on a failing init unless ignoreErrors, and closes what already loaded', async () => {
    RecordingComponent.closed = [];
    const good = comp('good', 'state.fake', '\n  - name: host\n    value: h');
    const bad = comp(
      'bad',
      'state.fake',
      '\n  - name: host\n    value: h\n  - name: failInit\n    value: "true"',
    );
    const err = await loadError(`${good}---${bad}`);
    assert.match(err.problems[0]?.rule ?? '', /init failed: backend refused the connection/);
    assert.ok(RecordingComponent.closed.includes('good'));
    const ignored = bad.replace('version: v1', 'version: v1\n  ignoreErrors: true');
    const { loaded } = await load(`${good}---${ignored}`);
    assert.deepEqual([...loaded.stateStores.keys()], ['good']);
  });

  it('skips a component with ignoreErrors whose type or metadata is bad, like daprd', async () => {
    const good = comp('good', 'state.fake', '\n  - name: host\n    value: h');
    const badMeta = comp('badmeta', 'state.fake', '\n  - name: port\n    value: x').replace(
      'version: v1',
      'version: v1\n  ignoreErrors: true',
    );
    const badType = comp('badtype', 'state.unknown', '').replace(
      'version: v1',
      'version: v1\n  ignoreErrors: true',
    );
    const { loaded } = await load(`${good}---${badMeta}---${badType}`);
    assert.deepEqual([...loaded.stateStores.keys()], ['good']);
  });

  it('does not load component types the Configuration denies', async () => {
    const sub = join(dir, `deny-${n++}`);
    await mkdir(sub);
    await writeFile(
      join(sub, 'c.yaml'),
      comp('store', 'state.fake', '\n  - name: host\n    value: h') +
        '---' +
        comp('envsecrets', 'secretstores.local.env', ''),
    );
    const resources = await readResources([sub]);
    const base = { registry, appId: 'app1', namespace: 'default', logger: quiet, dataDir: dir, env: {} };
    const denied = await loadComponents(resources.components, {
      ...base,
      deny: ['state.fake/v1', 'bindings.smtp'],
    });
    assert.deepEqual(
      denied.all.map((c) => c.name),
      ['envsecrets'],
    );
    const otherVersion = await loadComponents(resources.components, { ...base, deny: ['state.fake/v2'] });
    assert.deepEqual(
      otherVersion.all.map((c) => c.name),
      ['envsecrets', 'store'],
    );
  });

  it('honours spec.initTimeout', async () => {
    const hang = comp(
      'slow',
      'state.fake',
      '\n  - name: host\n    value: h\n  - name: hang\n    value: "true"',
    ).replace('version: v1', 'version: v1\n  initTimeout: 50ms');
    const err = await loadError(hang);
    assert.match(err.problems[0]?.rule ?? '', /init timed out after 50 ms/);
  });

  it('reports YAML and shape problems per document', async () => {
    await writeFile(
      join(dir, 'bad.yaml'),
      'apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: x\nspec:\n  version: v1\n---\nkind: [unclosed\n',
    );
    await assert.rejects(readResources([join(dir, 'bad.yaml')]), (err: unknown) => {
      assert.ok(err instanceof ResourceError);
      const fields = err.problems.map((p) => `${p.resource}:${p.field}`);
      assert.ok(fields.includes('Component/x:spec.type'), fields.join(','));
      assert.ok(
        fields.some((f) => f.endsWith(':(yaml)')),
        fields.join(','),
      );
      return true;
    });
  });
});
