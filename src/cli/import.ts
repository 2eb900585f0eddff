import { openSync, readSync, closeSync, statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { startEmbeddedServer, type EmbeddedServer } from './embedded.js';
import { endpointOf, type Endpoint } from './graphql-client.js';
import { bar, Progress, progressModeFor, type ProgressStream } from './progress.js';
import { followSubscription } from './subscriptions.js';

export const IMPORT_USAGE = `usage: filterscope import MODEL [WEIGHTS...] --name NAME --dataset DATASET [options]

Uploads a network trained elsewhere (MODEL: an .onnx file, or a TensorFlow.js model.json with its
weight files as WEIGHTS), waits for its test SR to be measured, and prints the run's id on stdout.
Through the server's own API: POST /import, then the trainingProgress subscription.

  --name NAME              the new architecture's name (unique)
  --dataset DATASET        the dataset it classifies (see \`datasets\`)
  --dataset-options JSON   the procedural dataset's options, e.g. '{"imageSize":16,"labels":4}'
  --mean a,b,c             per-channel mean after the pixel scale      (the input settings: mean and
  --std a,b,c              per-channel std                              std, or none: the file's record,
  --pixel-scale S          unit ([0,1], default), byte ([0,255]) or     else the dataset's
                           symmetric ([-1,1])                           standardisation)
  --channel-order O        rgb (default) or bgr
  --label-mapping i,j,...  for each dataset label, the network output that scores it
  --test N                 measure the test SR on the first N test examples
  --url URL                the server's /graphql (default: an embedded server, as for reproduce)
  --api-key KEY            sent as Authorization: Bearer (or FILTERSCOPE_API_KEY)
  --no-progress            no progress on stderr
Exit status: 0 imported and measured; 1 refused, failed or unreachable (the message says why); 2 bad arguments.
`;

export interface ImportIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: ProgressStream;
  readonly stderr: ProgressStream;
}

class ImportUsageError extends Error {}

/** What the command line asks for. */
interface ImportPlan {
  readonly files: readonly string[];
  readonly input: Record<string, unknown>;
  readonly url: string | null;
  readonly apiKey: string | null;
  readonly progress: boolean;
}

const numbers = (flag: string, text: string): number[] =>
  text.split(',').map((part) => {
    const value = Number(part.trim());
    if (part.trim() === '' || !Number.isFinite(value))
      throw new ImportUsageError(
        `--${flag} takes numbers separated by commas, got ${JSON.stringify(text)}`,
      );
    return value;
  });

function planOf(argv: readonly string[], env: ImportIo['env']): ImportPlan | 'help' {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      dataset: { type: 'string' },
      'dataset-options': { type: 'string' },
      'pixel-scale': { type: 'string' },
      mean: { type: 'string' },
      std: { type: 'string' },
      'channel-order': { type: 'string' },
      'label-mapping': { type: 'string' },
      test: { type: 'string' },
      url: { type: 'string' },
      'api-key': { type: 'string' },
      'no-progress': { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) return 'help';
  if (positionals.length === 0) throw new ImportUsageError('give the model file (MODEL)');
  if (!values.name) throw new ImportUsageError('--name is required');
  if (!values.dataset) throw new ImportUsageError('--dataset is required');
  for (const file of positionals)
    try {
      if (!statSync(file).isFile()) throw new Error('not a file');
    } catch {
      throw new ImportUsageError(`${JSON.stringify(file)} is not a readable file`);
    }
  const input: Record<string, unknown> = { name: values.name, dataset: values.dataset };
  if (values['dataset-options'])
    try {
      input.datasetOptions = JSON.parse(values['dataset-options']);
    } catch {
      throw new ImportUsageError(
        `--dataset-options must be JSON, got ${values['dataset-options']}`,
      );
    }
  const settings = ['mean', 'std', 'pixel-scale', 'channel-order'] as const;
  const given = settings.filter((flag) => values[flag] !== undefined);
  const missing = (['mean', 'std'] as const).filter((flag) => values[flag] === undefined);
  if (given.length > 0 && missing.length > 0)
    throw new ImportUsageError(
      `the input settings need --mean and --std: give --${missing.join(' and --')} too`,
    );
  if (given.length > 0)
    input.input = {
      mean: numbers('mean', values.mean!),
      std: numbers('std', values.std!),
      ...(values['pixel-scale'] && { pixelScale: values['pixel-scale'] }),
      ...(values['channel-order'] && { channelOrder: values['channel-order'] }),
    };
  if (values['label-mapping'])
    input.labelMapping = numbers('label-mapping', values['label-mapping']);
  if (values.test) input.maxTestExamples = numbers('test', values.test)[0];
  return {
    files: positionals,
    input,
    url: values.url ?? null,
    apiKey: values['api-key'] ?? env.FILTERSCOPE_API_KEY ?? null,
    progress: !values['no-progress'],
  };
}

interface UploadAnswer {
  readonly status: number;
  readonly body: {
    data?: { run: { id: string; status: string }; architecture: { id: string; name: string } };
    errors?: { message: string; extensions?: Record<string, unknown> }[];
  };
}

/**
 * POSTs the files as multipart/form-data, streamed from disk in 1 MiB pieces; `onSent` is told
 * the bytes sent so far (for the progress bar).
 */
function upload(
  endpoint: Endpoint,
  plan: ImportPlan,
  onSent: (sent: number, total: number) => void,
): Promise<UploadAnswer> {
  const boundary = `filterscope${Math.random().toString(16).slice(2)}${Date.now()}`;
  const [model, ...weights] = plan.files;
  const parts: { head: string; file?: string }[] = [
    {
      head: `--${boundary}\r\ncontent-disposition: form-data; name="input"\r\ncontent-type: application/json\r\n\r\n${JSON.stringify(plan.input)}\r\n`,
    },
    ...[model!, ...weights].map((file, i) => ({
      head: `--${boundary}\r\ncontent-disposition: form-data; name="${i === 0 ? 'model' : 'weights'}"; filename="${basename(file).replace(/"/g, '')}"\r\ncontent-type: application/octet-stream\r\n\r\n`,
      file,
    })),
  ];
  const tail = `--${boundary}--\r\n`;
  const total =
    parts.reduce(
      (sum, p) => sum + Buffer.byteLength(p.head) + (p.file ? statSync(p.file).size + 2 : 0),
      0,
    ) + Buffer.byteLength(tail);
  const url = new URL(endpoint.httpUrl.replace(/\/graphql$/, '/import'));
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<UploadAnswer>((resolve, reject) => {
    const req = send(
      url,
      {
        method: 'POST',
        headers: {
          'content-type': `multipart/form-data; boundary=${boundary}`,
          'content-length': total,
          ...(endpoint.apiKey ? { authorization: `Bearer ${endpoint.apiKey}` } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            resolve({
              status: res.statusCode ?? 0,
              body: JSON.parse(text) as UploadAnswer['body'],
            });
          } catch {
            reject(new Error(`the server answered ${res.statusCode} with ${text.slice(0, 200)}`));
          }
        });
      },
    );
    req.on('error', reject);
    let sent = 0;
    const write = (data: Buffer | string): Promise<void> =>
      new Promise((done) => {
        sent += typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
        onSent(sent, total);
        if (req.write(data)) done();
        else req.once('drain', done);
      });
    void (async () => {
      for (const part of parts) {
        await write(part.head);
        if (!part.file) continue;
        const fd = openSync(part.file, 'r');
        try {
          const piece = Buffer.alloc(1 << 20);
          for (;;) {
            const n = readSync(fd, piece, 0, piece.length, null);
            if (n === 0) break;
            await write(Buffer.from(piece.subarray(0, n)));
            if (req.destroyed) return;
          }
        } finally {
          closeSync(fd);
        }
        await write('\r\n');
      }
      await write(tail);
      req.end();
    })().catch(reject);
  });
}

interface RunEvent {
  readonly sequence: number;
  readonly type: string;
  readonly status: string | null;
  readonly error: string | null;
  readonly finalTestSR: number | null;
  readonly warnings: string[] | null;
  readonly evaluation: { batch: number; batches: number } | null;
}

const FOLLOW = `subscription($id: ID!, $after: Int) { trainingProgress(runId: $id, afterSequence: $after) {
  sequence type status error finalTestSR warnings evaluation { batch batches } } }`;

/** `filterscope import ...`; resolves with the exit status. */
export async function importCommand(argv: readonly string[], io: ImportIo): Promise<number> {
  let plan: ImportPlan | 'help';
  try {
    plan = planOf(argv, io.env);
  } catch (error) {
    if (!(error instanceof ImportUsageError) && !(error instanceof TypeError)) throw error;
    io.stderr.write(
      `filterscope import: ${(error as Error).message}\n(filterscope import --help)\n`,
    );
    return 2;
  }
  if (plan === 'help') {
    io.stdout.write(IMPORT_USAGE);
    return 0;
  }
  const progress = new Progress(io.stderr, progressModeFor(io.stderr, plan.progress));
  let embedded: EmbeddedServer | null = null;
  try {
    if (plan.url === null) {
      progress.note('starting an embedded server (FILTERSCOPE_HOME / DATABASE_URL as for serve)');
      embedded = await startEmbeddedServer(io.env, (line) => progress.note(line));
    }
    const endpoint = endpointOf(plan.url ?? embedded!.url, plan.apiKey);
    const answer = await upload(endpoint, plan, (sent, total) =>
      progress.status([
        `uploading ${bar(sent / total)} ${(sent / 2 ** 20).toFixed(1)} / ${(total / 2 ** 20).toFixed(1)} MiB`,
      ]),
    );
    const error = answer.body.errors?.[0];
    if (error || !answer.body.data) {
      progress.stop();
      const ext = error?.extensions ?? {};
      const node = ext.node as { name: string; opType: string } | undefined;
      io.stderr.write(
        `filterscope import: refused (${answer.status} ${String(ext.reason ?? ext.code ?? '')}): ${error?.message ?? 'no answer'}` +
          `${node ? `\n  node: ${node.name} (${node.opType})` : ''}` +
          `${Array.isArray(ext.supported) ? `\n  supported: ${ext.supported.join(', ')}` : ''}\n`,
      );
      return 1;
    }
    const { run, architecture } = answer.body.data;
    progress.note(
      `uploaded: architecture ${architecture.name} (${architecture.id}), run ${run.id}`,
    );
    const followed = await followSubscription<RunEvent>({
      endpoint,
      query: FOLLOW,
      variables: { id: run.id },
      field: 'trainingProgress',
      isFinal: (e) =>
        e.type === 'STATUS' && ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(e.status ?? ''),
      onEvent: (e) => {
        if (e.evaluation)
          progress.status([
            `measuring test SR ${bar(e.evaluation.batch / e.evaluation.batches)} batch ${e.evaluation.batch} / ${e.evaluation.batches}`,
          ]);
        else if (e.status) progress.status([`run ${run.id}: ${e.status}`]);
      },
      retryForMs: 120_000,
    });
    progress.stop();
    const final = followed.final;
    if (final.status !== 'SUCCEEDED') {
      io.stderr.write(`filterscope import: the evaluation ${final.status}: ${final.error ?? ''}\n`);
      return 1;
    }
    io.stderr.write(`test SR ${final.finalTestSR?.toFixed(4) ?? 'n/a'}\n`);
    for (const warning of final.warnings ?? []) io.stderr.write(`warning: ${warning}\n`);
    io.stdout.write(`${run.id}\n`);
    return 0;
  } catch (error) {
    progress.stop();
    io.stderr.write(`filterscope import: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await embedded?.close();
  }
}
