/**
 * Importing a VGG-16-sized ONNX file (random weights, ~60 MB, written here with filterscope's
 * own ONNX writer) into a real server: upload time, time until the answer (parse, check, store),
 * the server's peak memory, and the API's event-loop stall while the file arrives and is parsed
 * (a concurrent /healthz ping every 10 ms; target: worst under 200 ms).
 * Run: npm run bench:import (IMPORT_REPEATS=n for more uploads; BENCH_OUT=file to save the table).
 *
 * The server runs as a child process (this file with --server: PGlite in a temp
 * FILTERSCOPE_HOME, no job runners, so that the evaluation job does not run while measuring);
 * its memory is read from /proc/<pid>/status (VmRSS sampled, VmHWM the peak).
 */
import 'reflect-metadata';
import { spawn, type ChildProcess } from 'node:child_process';
import {
  createReadStream,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const REPEATS = Number(process.env.IMPORT_REPEATS ?? 3);
const PING_MS = 10;

async function serverMode(): Promise<void> {
  const { loadConfig } = await import('../src/config.js');
  const { createLogger } = await import('../src/log.js');
  const { startServer } = await import('../src/server/app.js');
  const config = loadConfig({ ...process.env, PORT: '0', FILTERSCOPE_RUNNERS: '0' });
  const server = await startServer(config, createLogger('warn'));
  process.stdout.write(`URL ${server.url}\n`);
  // The event loop's own delay, measured inside the server: 'start' resets, 'stop' answers.
  // The stalls are split at the moment the import thread answers (parse) and the store begins.
  const histogram = monitorEventLoopDelay({ resolution: 5 });
  let times = { received: 0, parsed: 0 };
  const none = { parse: 0, store: 0, parseCpu: 0, storeCpu: 0 };
  let worst = { ...none };
  let last = performance.now();
  let lastCpu = mainThreadCpuMs();
  setInterval(() => {
    const now = performance.now();
    const cpu = mainThreadCpuMs();
    const late = now - last - 5;
    const own = cpu - lastCpu;
    last = now;
    lastCpu = cpu;
    if (times.parsed) {
      worst.store = Math.max(worst.store, late);
      worst.storeCpu = Math.max(worst.storeCpu, own);
    } else {
      worst.parse = Math.max(worst.parse, late);
      worst.parseCpu = Math.max(worst.parseCpu, own);
    }
  }, 5).unref();
  const { ImportSession } = await import('../src/interop/import-session.js');
  const finish = ImportSession.prototype.finish;
  ImportSession.prototype.finish = async function (this: InstanceType<typeof ImportSession>, job) {
    times.received = Date.now();
    const reply = await finish.call(this, job);
    times.parsed = Date.now();
    return reply;
  };
  process.on('message', (message: string) => {
    if (message === 'start') {
      histogram.reset();
      histogram.enable();
      times = { received: 0, parsed: 0 };
      worst = { ...none };
    } else {
      histogram.disable();
      process.send!({
        p99: histogram.percentile(99) / 1e6,
        max: histogram.max / 1e6,
        ...worst,
        ...times,
      });
    }
  });
  process.once('SIGTERM', () => void server.close().then(() => process.exit(0)));
}

/**
 * CPU time (ms, 10 ms steps) the server's main thread has used: of a stall on a loaded machine,
 * the part that is the event loop's own work rather than waiting for a core.
 */
function mainThreadCpuMs(): number {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** VGG-16 for 32x32x3 and 10 labels with He-normal weights, as an ONNX file. */
async function writeVgg16(path: string): Promise<number> {
  const tf = await import('@tensorflow/tfjs');
  await tf.setBackend('cpu');
  const { vgg16 } = await import('../src/architecture/presets.js');
  const { buildModel, readVariables } = await import('../src/engine/model.js');
  const { writeOnnx } = await import('../src/interop/index.js');
  const spec = vgg16('bench VGG-16', [32, 32, 3], 10);
  const model = buildModel(spec, 7);
  const weights = await readVariables(model);
  model.dispose();
  const bytes = writeOnnx(spec, weights, {});
  writeFileSync(path, bytes);
  return weights.reduce((n, w) => n + w.values.length, 0);
}

function startChild(home: string): Promise<{ child: ChildProcess; url: string }> {
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, __filename, '--server'], {
    env: { ...process.env, FILTERSCOPE_HOME: home, DATABASE_URL: '' },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /URL (\S+)/.exec(out);
      if (match) resolve({ child, url: match[1]!.replace(/\/graphql$/, '') });
    });
    child.once('exit', (code) => reject(new Error(`the server exited with code ${code}`)));
  });
}

/** kB of VmRSS and VmHWM of a process. */
function memory(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** Pings /healthz every PING_MS (one at a time) until stopped: [sent at (Date.now), latency ms]. */
function pinger(base: string): { stop: () => Promise<[number, number][]> } {
  const pings: [number, number][] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const sent = Date.now();
      const started = performance.now();
      const res = await fetch(`${base}/healthz`);
      await res.arrayBuffer();
      pings.push([sent, performance.now() - started]);
      await new Promise((r) => setTimeout(r, PING_MS));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return pings;
    },
  };
}

interface Upload {
  /** Date.now() when the request started, its last byte was sent, its answer arrived. */
  readonly started: number;
  readonly sent: number;
  readonly answered: number;
  readonly status: number;
  readonly body: string;
}

/** Streams input + the file as multipart/form-data; times the last byte sent and the answer. */
function upload(base: string, file: string, name: string): Promise<Upload> {
  const boundary = `----filterscope-bench-${Date.now()}`;
  const input = JSON.stringify({
    name,
    dataset: 'procedural',
    datasetOptions: { trainSize: 16, testSize: 64 },
    input: {
      pixelScale: 'unit',
      mean: [0.5, 0.5, 0.5],
      std: [0.25, 0.25, 0.25],
      channelOrder: 'rgb',
    },
  });
  const head = Buffer.from(
    `--${boundary}\r\ncontent-disposition: form-data; name="input"\r\n\r\n${input}\r\n` +
      `--${boundary}\r\ncontent-disposition: form-data; name="model"; filename="vgg16.onnx"\r\n` +
      'content-type: application/octet-stream\r\n\r\n',
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const size = statSync(file).size;
  const started = Date.now();
  return new Promise((resolve, reject) => {
    let sent = 0;
    const req = request(
      `${base}/import`,
      {
        method: 'POST',
        headers: {
          'content-type': `multipart/form-data; boundary=${boundary}`,
          'content-length': head.length + size + tail.length,
        },
      },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () =>
          resolve({
            started,
            sent,
            answered: Date.now(),
            status: res.statusCode ?? 0,
            body,
          }),
        );
      },
    );
    req.on('error', reject);
    req.write(head);
    const stream = createReadStream(file, { highWaterMark: 256 * 1024 });
    stream.pipe(req, { end: false });
    stream.on('end', () => {
      req.end(tail, () => (sent = Date.now()));
    });
  });
}

/** The server's event-loop delay (ms) and when the upload was received and parsed (Date.now). */
interface Delay {
  readonly p99: number;
  readonly max: number;
  readonly parse: number;
  readonly store: number;
  readonly parseCpu: number;
  readonly storeCpu: number;
  readonly received: number;
  readonly parsed: number;
}

/** The server's event-loop delay over what runs between start() and stop(). */
function loopDelay(child: ChildProcess): { start: () => void; stop: () => Promise<Delay> } {
  return {
    start: () => child.send('start'),
    stop: () =>
      new Promise<Delay>((resolve) => {
        child.once('message', (m) => resolve(m as Delay));
        child.send('stop');
      }),
  };
}

const quantile = (sorted: number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;

const seconds = (ms: number): string => (ms / 1000).toFixed(2);
const worstOf = (pings: [number, number][]): string =>
  Math.max(0, ...pings.map(([, ms]) => ms)).toFixed(0);

async function main(): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), 'filterscope-bench-import-'));
  const file = join(home, 'vgg16.onnx');
  const parameters = await writeVgg16(file);
  const bytes = statSync(file).size;
  const { child, url } = await startChild(join(home, 'server'));
  const pid = child.pid!;
  const rows: string[][] = [];
  try {
    const loop = loopDelay(child);
    loop.start();
    const idle = pinger(url);
    await new Promise((r) => setTimeout(r, 3000));
    const idlePings = await idle.stop();
    const idleLoop = await loop.stop();
    const before = memory(pid);
    const idleTimes = idlePings.map(([, ms]) => ms).sort((a, b) => a - b);
    rows.push([
      'idle (3 s)',
      '-',
      '-',
      '-',
      '-',
      (before.rss / 1024).toFixed(0),
      (before.hwm / 1024).toFixed(0),
      quantile(idleTimes, 0.99).toFixed(0),
      worstOf(idlePings),
      '-',
      idleLoop.max.toFixed(0),
      '-',
      idleLoop.parseCpu.toFixed(0),
      '-',
    ]);
    for (let i = 0; i < REPEATS; i++) {
      let peakRss = 0;
      const sampler = setInterval(() => (peakRss = Math.max(peakRss, memory(pid).rss)), 20);
      loop.start();
      const ping = pinger(url);
      const result = await upload(url, file, `bench-vgg16-${i}`);
      const pings = await ping.stop();
      const delay = await loop.stop();
      clearInterval(sampler);
      if (result.status !== 200)
        throw new Error(`upload ${i} answered ${result.status}: ${result.body}`);
      const after = memory(pid);
      const times = pings.map(([, ms]) => ms).sort((a, b) => a - b);
      rows.push([
        `upload ${i + 1}`,
        seconds(result.sent - result.started),
        seconds(delay.parsed - delay.received),
        seconds(result.answered - delay.parsed),
        seconds(result.answered - result.started),
        (Math.max(peakRss, after.rss) / 1024).toFixed(0),
        (after.hwm / 1024).toFixed(0),
        quantile(times, 0.99).toFixed(0),
        worstOf(pings.filter(([at]) => at < delay.parsed)),
        worstOf(pings.filter(([at]) => at >= delay.parsed)),
        delay.parse.toFixed(0),
        delay.store.toFixed(0),
        delay.parseCpu.toFixed(0),
        delay.storeCpu.toFixed(0),
      ]);
    }
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(home, { recursive: true, force: true });
  }
  const header = [
    'phase',
    'upload s',
    'parse s',
    'store s',
    'answer s',
    'RSS peak MiB',
    'VmHWM MiB',
    'ping p99 ms',
    'ping max: upload+parse',
    'ping max: store',
    'loop max: upload+parse',
    'loop max: store',
    'own CPU: upload+parse',
    'own CPU: store',
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  const worst = (columns: number[]) =>
    Math.max(...rows.slice(1).flatMap((r) => columns.map((c) => Number(r[c]))));
  const text = [
    `import of a VGG-16 ONNX file (32x32x3, 10 labels, random weights): ${(bytes / 1e6).toFixed(1)} MB, ` +
      `${parameters} parameters; PGlite; the server in a child process without job runners`,
    'upload: until the last byte was sent; parse: from the whole file received to the import',
    "thread's answer (parsed, checked, encoded); store: from there to the HTTP answer (database)",
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    `ping: /healthz latency from this process, one every ${PING_MS} ms; loop: the server's own`,
    'event-loop delay (a 5 ms timer inside it); split at the moment the import thread answered;',
    "own CPU: the most CPU time the server's main thread used between two ticks of that timer",
    '(its own work, not waiting for a core on a loaded machine; 10 ms steps)',
    `load average at the end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} on ${cpus().length} cores`,
    `worst stall (target under 200 ms): ping ${worst([8, 9]).toFixed(0)} ms, loop ${worst([10, 11]).toFixed(0)} ms, own CPU ${worst([12, 13]).toFixed(0)} ms`,
  ].join('\n');
  console.log(text);
  if (process.env.BENCH_OUT) writeFileSync(process.env.BENCH_OUT, `${text}\n`);
}

if (process.argv.includes('--server')) void serverMode();
else
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
