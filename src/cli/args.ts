/**
 * `filterscope reproduce` arguments: a small strict parser (every error names the flag and the
 * value received) and the dataset-dependent defaults. Pure: no I/O, no server.
 */

/** A bad command line; `filterscope reproduce` prints it and exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

type Kind =
  | { readonly type: 'string' }
  | { readonly type: 'int'; readonly min: number; readonly max: number }
  | { readonly type: 'number'; readonly min: number; readonly max: number; readonly openMin?: true }
  | { readonly type: 'bool' }
  | { readonly type: 'enum'; readonly values: readonly string[] }
  | { readonly type: 'list' }
  | { readonly type: 'intList'; readonly min: number; readonly max: number };

const str = { type: 'string' } as const;
const bool = { type: 'bool' } as const;
const int = (min: number, max: number) => ({ type: 'int', min, max }) as const;
const num = (min: number, max: number, openMin?: true) =>
  ({ type: 'number', min, max, ...(openMin ? { openMin } : {}) }) as const;
const U32 = 0xffffffff;

/** Every flag, with the kind of value it takes. `--no-<bool>` sets a bool flag to false. */
const FLAGS = {
  help: bool,
  url: str,
  'api-key': str,
  'retry-for': int(1, 86_400),
  dataset: str,
  arch: str,
  run: str,
  probe: str,
  train: int(1, 10_000_000),
  test: int(1, 10_000_000),
  'image-size': int(8, 256),
  channels: int(1, 3),
  labels: int(3, 100),
  'data-seed': int(0, U32),
  epochs: int(1, 10_000),
  'batch-size': int(1, 8192),
  lr: num(0, 10, true),
  momentum: num(0, 0.999999),
  nesterov: bool,
  'weight-decay': num(0, 1),
  schedule: { type: 'enum', values: ['cosine', 'step', 'constant'] },
  warmup: int(0, 10_000),
  milestones: { type: 'intList', min: 1, max: 10_000 },
  factor: num(0, 1, true),
  augmentation: { type: 'enum', values: ['crop-flip', 'none'] },
  seed: int(0, U32),
  'keep-checkpoints': int(1, 20),
  'max-attempts': int(1, 10),
  layers: { type: 'list' },
  'head-epochs': int(1, 1000),
  'head-lr': num(0, 10, true),
  'head-momentum': num(0, 0.999999),
  'head-weight-decay': num(0, 1),
  'head-batch-size': int(1, 8192),
  'max-features': int(1, 2 ** 24),
  'after-pooling': bool,
  'probe-train': int(1, 10_000_000),
  'probe-test': int(1, 10_000_000),
  'probe-seed': int(0, U32),
  out: str,
  heatmaps: int(0, 100),
  progress: bool,
} as const satisfies Record<string, Kind>;

export type Flag = keyof typeof FLAGS;
type Value = string | number | boolean | string[] | number[];

/** The flags given, parsed and range-checked; nothing filled in. */
export type ParsedFlags = Partial<Record<Flag, Value>>;

const isFlag = (name: string): name is Flag => Object.prototype.hasOwnProperty.call(FLAGS, name);

function convert(flag: Flag, raw: string): Value {
  const kind: Kind = FLAGS[flag];
  const bad = (expected: string) =>
    new UsageError(`--${flag}: expected ${expected}, got ${JSON.stringify(raw)}`);
  switch (kind.type) {
    case 'string':
      if (raw.length === 0) throw bad('a value');
      return raw;
    case 'int': {
      const value = /^[+-]?\d+$/.test(raw.trim()) ? Number(raw) : NaN;
      if (!Number.isSafeInteger(value) || value < kind.min || value > kind.max)
        throw bad(`an integer from ${kind.min} to ${kind.max}`);
      return value;
    }
    case 'number': {
      const value = raw.trim() === '' ? NaN : Number(raw);
      const low = kind.openMin ? value > kind.min : value >= kind.min;
      if (!Number.isFinite(value) || !low || value > kind.max)
        throw bad(`a number in ${kind.openMin ? '(' : '['}${kind.min}, ${kind.max}]`);
      return value;
    }
    case 'enum':
      if (!kind.values.includes(raw)) throw bad(`one of ${kind.values.join(', ')}`);
      return raw;
    case 'list': {
      const items = raw.split(',').map((s) => s.trim());
      if (items.some((s) => s.length === 0)) throw bad('a comma-separated list of names');
      return items;
    }
    case 'intList': {
      const items = raw.split(',').map((s) => s.trim());
      const values = items.map((s) => (/^\d+$/.test(s) ? Number(s) : NaN));
      if (values.some((v) => !Number.isSafeInteger(v) || v < kind.min || v > kind.max))
        throw bad(`comma-separated integers from ${kind.min} to ${kind.max}`);
      return values;
    }
    case 'bool':
      if (raw === 'true') return true;
      if (raw === 'false') return false;
      throw bad('true or false (or the flag alone)');
  }
}

/**
 * Parses `--flag value`, `--flag=value`, `--bool`, `--no-bool` and `-h`. Throws `UsageError`
 * naming the flag and the value for unknown flags, missing or malformed values, repeated flags
 * and positional arguments.
 */
export function parseFlags(argv: readonly string[]): ParsedFlags {
  const out: ParsedFlags = {};
  const set = (flag: Flag, value: Value, shown: string) => {
    if (out[flag] !== undefined)
      throw new UsageError(`--${flag} is given twice (the second time as ${shown})`);
    out[flag] = value;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h') {
      set('help', true, arg);
      continue;
    }
    if (!arg.startsWith('--') || arg === '--')
      throw new UsageError(
        `unexpected argument ${JSON.stringify(arg)}: every option is a --flag (see --help)`,
      );
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    const inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
    if (
      name.startsWith('no-') &&
      isFlag(name.slice(3)) &&
      FLAGS[name.slice(3) as Flag].type === 'bool'
    ) {
      if (inline !== undefined)
        throw new UsageError(`--${name} takes no value, got ${JSON.stringify(inline)}`);
      set(name.slice(3) as Flag, false, arg);
      continue;
    }
    if (!isFlag(name)) throw new UsageError(`unknown option --${name} (see --help)`);
    if (FLAGS[name].type === 'bool') {
      set(name, inline === undefined ? true : convert(name, inline), arg);
      continue;
    }
    let raw = inline;
    if (raw === undefined) {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2))
        throw new UsageError(`--${name} needs a value`);
      raw = next;
      i++;
    }
    set(name, convert(name, raw), JSON.stringify(raw));
  }
  return out;
}
