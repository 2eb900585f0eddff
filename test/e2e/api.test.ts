import { expectedMigrationCount } from '../../src/store/migrate.js';
import { startTestServer, wsQuery, type TestServer } from '../helpers/server.js';

/** The architecture API through real HTTP and a real WebSocket, on a fresh PGlite copy. */
let t: TestServer;
beforeAll(async () => {
  t = await startTestServer('pglite');
});
afterAll(async () => {
  await t?.stop();
});

const LIST = `query List($first: Int, $after: String) {
  architectures(first: $first, after: $after) {
    totalCount
    edges { cursor node { id name preset parameterCount flops } }
    pageInfo { hasNextPage endCursor }
  }
}`;
const CREATE = `mutation Create($input: CreateArchitectureInput!) {
  createArchitecture(input: $input) { id name labels inputShape parameterCount flops
    layers { id index name kind filters kernelSize outputShape parameterCount } }
}`;
const tiny = (
  name: string,
  blocks: unknown[] = [{ kind: 'CONV', filters: 8 }, { kind: 'MAX_POOL' }],
) => ({
  name,
  inputShape: [16, 16, 3],
  labels: 4,
  blocks,
});

type ListData = {
  architectures: {
    totalCount: number;
    edges: { cursor: string; node: { id: string; name: string; preset: boolean } }[];
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
};
const count = async () =>
  (await t.gql<ListData>(LIST, { first: 1 })).data!.architectures.totalCount;

describe('health', () => {
  it('answers /healthz and /readyz with the database and migrations', async () => {
    const base = t.server.url.replace('/graphql', '');
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: 'ready',
      database: 'pglite',
      migrations: expectedMigrationCount(),
    });
  });
});

describe('architectures', () => {
  it('lists the presets stored at first start, with layers and counts', async () => {
    const res = await t.gql<ListData>(LIST, { first: 200 });
    const names = res.data!.architectures.edges.map((e) => e.node.name);
    expect(names).toEqual(
      expect.arrayContaining(['VGG-16/CIFAR-10', 'VGG-6/28x28x1', 'AVGG-16/CIFAR-100']),
    );
    const one = await t.gql<{
      architecture: { parameterCount: number; flops: number; layers: { name: string }[] };
    }>(`{ architecture(name: "VGG-6/28x28x1") { parameterCount flops layers { name } } }`);
    expect(one.data!.architecture.layers.map((l) => l.name)).toEqual([
      'conv1',
      'conv2',
      'maxPool1',
      'conv3',
      'conv4',
      'maxPool2',
      'conv5',
      'maxPool3',
      'flatten1',
      'classifier',
    ]);
  });

  it('pages with cursors and caps first at 200', async () => {
    const page1 = (await t.gql<ListData>(LIST, { first: 3 })).data!.architectures;
    expect(page1.edges).toHaveLength(3);
    expect(page1.pageInfo.hasNextPage).toBe(true);
    const page2 = (await t.gql<ListData>(LIST, { first: 3, after: page1.pageInfo.endCursor })).data!
      .architectures;
    const ids1 = page1.edges.map((e) => e.node.id);
    expect(page2.edges.map((e) => e.node.id).some((id) => ids1.includes(id))).toBe(false);
    const tooMany = await t.gql(LIST, { first: 201 });
    expect(tooMany.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(tooMany.errors?.[0]?.message).toContain('first');
    expect(tooMany.errors?.[0]?.message).toContain('201');
  });

  it('creates an architecture, resolves it by node id, and deletes it', async () => {
    const before = await count();
    const created = await t.gql<{
      createArchitecture: { id: string; layers: { id: string; outputShape: number[] }[] };
    }>(CREATE, { input: tiny('tiny-created') });
    expect(created.errors).toBeUndefined();
    const arch = created.data!.createArchitecture;
    expect(arch.layers.map((l) => l.outputShape)).toEqual([[16, 16, 8], [8, 8, 8], [512], [4]]);
    expect(await count()).toBe(before + 1);

    const nodes = await t.gql<{ nodes: ({ __typename: string; name?: string } | null)[] }>(
      `query($ids: [ID!]!) { nodes(ids: $ids) { __typename id ... on Architecture { name } ... on Layer { name } } }`,
      { ids: [arch.id, arch.layers[0]!.id, 'bm90LWFuLWlk'] },
    );
    expect(nodes.data!.nodes.map((n) => n?.__typename ?? null)).toEqual([
      'Architecture',
      'Layer',
      null,
    ]);

    const deleted = await t.gql(`mutation($id: ID!) { deleteArchitecture(id: $id) }`, {
      id: arch.id,
    });
    expect(deleted.data).toEqual({ deleteArchitecture: arch.id });
    expect(await count()).toBe(before);
    const again = await t.gql(`mutation($id: ID!) { deleteArchitecture(id: $id) }`, {
      id: arch.id,
    });
    expect(again.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('creates what imported networks need: explicit padding, a conv bias with batch norm, global average pooling', async () => {
    const created = await t.gql<{
      createArchitecture: {
        spec: { blocks: Record<string, unknown>[] };
        layers: { name: string; kind: string; outputShape: number[]; parameterCount: number }[];
      };
    }>(
      `mutation($input: CreateArchitectureInput!) { createArchitecture(input: $input) {
        spec layers { name kind outputShape parameterCount } } }`,
      {
        input: {
          name: 'torch-style',
          inputShape: [9, 12, 3],
          labels: 4,
          blocks: [
            {
              kind: 'CONV',
              filters: 8,
              stride: 2,
              bias: true,
              explicitPadding: { top: 1, bottom: 1, left: 1, right: 1 },
            },
            { kind: 'GLOBAL_AVG_POOL' },
          ],
        },
      },
    );
    expect(created.errors).toBeUndefined();
    const { spec, layers } = created.data!.createArchitecture;
    expect(spec.blocks[0]).toMatchObject({ padding: { top: 1, bottom: 1, left: 1, right: 1 } });
    expect(layers.map((l) => [l.name, l.kind, l.outputShape])).toEqual([
      ['conv1', 'CONV', [5, 6, 8]],
      ['globalAvgPool1', 'GLOBAL_AVG_POOL', [8]],
      ['classifier', 'DENSE', [4]],
    ]);
    // 3x3x3x8 kernel, a bias and batch norm's 4 per filter.
    expect(layers[0]!.parameterCount).toBe(3 * 3 * 3 * 8 + 8 + 4 * 8);
  });

  it('refuses to delete a preset', async () => {
    const list = (await t.gql<ListData>(LIST, { first: 1 })).data!.architectures.edges[0]!.node;
    const res = await t.gql(`mutation($id: ID!) { deleteArchitecture(id: $id) }`, { id: list.id });
    expect(res.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect(res.errors?.[0]?.message).toContain(list.name);
  });

  describe('bad input: a coded error naming the field and value, and nothing stored', () => {
    const cases: [string, Record<string, unknown>, string, unknown][] = [
      ['unknown block kind', tiny('bad-1', [{ kind: 'LSTM' }]), 'LSTM', undefined],
      [
        'negative filters',
        tiny('bad-2', [{ kind: 'CONV', filters: -4 }]),
        'input.blocks[0].filters',
        -4,
      ],
      [
        'zero units',
        tiny('bad-3', [{ kind: 'FLATTEN' }, { kind: 'DENSE', units: 0 }]),
        'input.blocks[1].units',
        0,
      ],
      [
        'valid kernel larger than input',
        tiny('bad-4', [{ kind: 'CONV', filters: 4, kernelSize: 21, padding: 'VALID' }]),
        'input.blocks[0].kernelSize',
        21,
      ],
      [
        'collapse to zero',
        tiny(
          'bad-5',
          [1, 2, 3, 4, 5].map(() => ({ kind: 'MAX_POOL' })),
        ),
        'input.blocks[4].poolSize',
        2,
      ],
      [
        'stride collapse',
        tiny('bad-6', [
          { kind: 'MAX_POOL', poolSize: 16, stride: 40 },
          { kind: 'CONV', filters: 2, kernelSize: 2, padding: 'VALID' },
        ]),
        'input.blocks[1].kernelSize',
        2,
      ],
      [
        'over the parameter limit',
        tiny('bad-7', [
          { kind: 'FLATTEN' },
          { kind: 'DENSE', units: 60000 },
          { kind: 'DENSE', units: 60000 },
        ]),
        'input.blocks[2].units',
        60000,
      ],
      [
        'field of another kind',
        tiny('bad-8', [{ kind: 'MAX_POOL', filters: 3 }]),
        'input.blocks[0].filters',
        3,
      ],
      [
        'dropout rate of 1.5',
        tiny('bad-9', [{ kind: 'DROPOUT', rate: 1.5 }]),
        'input.blocks[0].rate',
        1.5,
      ],
      ['one label', { ...tiny('bad-10'), labels: 1 }, 'input.labels', 1],
      [
        '2-D input shape',
        { ...tiny('bad-11'), inputShape: [16, 16] },
        'input.inputShape',
        [16, 16],
      ],
      ['empty name', tiny(''), 'input.name', ''],
      [
        'a string for filters',
        tiny('bad-14', [{ kind: 'CONV', filters: 'eight' }]),
        'eight',
        undefined,
      ],
      ['a float for an Int', tiny('bad-15', [{ kind: 'CONV', filters: 2.5 }]), '2.5', undefined],
    ];
    it.each(cases)('%s', async (_name, input, field, value) => {
      const before = await count();
      const res = await t.gql(CREATE, { input });
      const error = res.errors?.[0];
      expect(error?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(error?.message).toContain(field);
      if (value !== undefined) {
        expect(error?.extensions?.field).toBe(field);
        expect(error?.extensions?.value).toEqual(value);
        expect(error?.message).toContain(JSON.stringify(value));
      }
      expect(res.data?.createArchitecture ?? null).toBeNull();
      expect(await count()).toBe(before);
    });

    it('a name taken by a preset is a CONFLICT naming the field and value', async () => {
      const before = await count();
      const res = await t.gql(CREATE, { input: tiny('VGG-16/CIFAR-10') });
      expect(res.errors?.[0]?.extensions).toMatchObject({
        code: 'CONFLICT',
        field: 'input.name',
        value: 'VGG-16/CIFAR-10',
      });
      expect(res.errors?.[0]?.message).toContain('"VGG-16/CIFAR-10" is already taken');
      expect(await count()).toBe(before);
    });

    it('an id of the wrong type', async () => {
      const res = await t.gql(`{ architecture(id: "nonsense") { name } }`);
      expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(res.errors?.[0]?.message).toContain('nonsense');
    });

    it('an oversized body is refused with 413', async () => {
      const res = await fetch(t.server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: `{ datasets { name } }`, pad: 'x'.repeat(1_100_000) }),
      });
      expect(res.status).toBe(413);
    });
  });
});

describe('datasets', () => {
  it('lists the procedural dataset as available and the file datasets with what is missing', async () => {
    const res = await t.gql<{
      datasets: { name: string; available: boolean; labels: number; missingFiles: string[] }[];
    }>(
      `{ datasets { name available labels labelNames inputShape trainSize testSize location missingFiles } }`,
    );
    const byName = new Map(res.data!.datasets.map((d) => [d.name, d]));
    expect(byName.get('procedural')?.available).toBe(true);
    expect([...byName.keys()]).toEqual([
      'procedural',
      'fashion-mnist',
      'mnist',
      'cifar-10',
      'cifar-100',
    ]);
    const cifar = byName.get('cifar-100')!;
    expect(cifar.labels).toBe(100);
    if (!cifar.available) expect(cifar.missingFiles).toEqual(['train.bin', 'test.bin']);
  });
});

describe('WebSocket (graphql-transport-ws) on the same path', () => {
  it('handshakes and answers a query', async () => {
    const client = t.ws();
    const res = await wsQuery<{ architecture: { name: string } }>(
      client,
      `{ architecture(name: "VGG-16/CIFAR-10") { name } }`,
    );
    expect(res.data?.architecture.name).toBe('VGG-16/CIFAR-10');
    const bad = await wsQuery(client, `{ architectures(first: 0) { totalCount } }`);
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});
