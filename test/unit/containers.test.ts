import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix, relative, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ENVIRONMENT, loadConfig } from '../../src/config.js';

/**
 * Lints the container files without a Docker engine: the Dockerfiles through a small parser
 * below, compose.yaml through `yaml`, both against the repository (paths, commands, the
 * configuration filterscope accepts). Every check runs on the committed files and, through the
 * mutations at the end, on a broken copy that it must reject.
 */

const ROOT = join(__dirname, '..', '..');
const DOCKERFILE = 'docker/Dockerfile';
const DOCKERFILE_GPU = 'docker/Dockerfile.gpu';
const DOCKERFILE_CUDA = 'docker/Dockerfile.cuda';
const COMPOSE = 'docker/compose.yaml';
const DOCKERIGNORE = '.dockerignore';
/** The command each image's CMD runs. */
const IMAGE_COMMANDS: Readonly<Record<string, string>> = {
  [DOCKERFILE]: 'serve',
  [DOCKERFILE_GPU]: 'worker',
  [DOCKERFILE_CUDA]: 'worker',
};
/** What `${VAR:?...}` placeholders stand for when compose.yaml is checked. */
const SAMPLE_VARIABLES: Readonly<Record<string, string>> = {
  FILTERSCOPE_API_KEYS: 'admin=compose-sample-secret-0123456789:write',
};

type Files = Readonly<Record<string, string>>;
const readRepo = (file: string): string => readFileSync(join(ROOT, file), 'utf8');
const COMMITTED: Files = Object.fromEntries(
  [DOCKERFILE, DOCKERFILE_GPU, DOCKERFILE_CUDA, COMPOSE, DOCKERIGNORE].map((f) => [f, readRepo(f)]),
);

// --- Dockerfile parsing -------------------------------------------------------------------

interface Instruction {
  /** Upper case: FROM, RUN, COPY... */
  readonly keyword: string;
  /** Everything after the keyword, continuation lines joined. */
  readonly args: string;
  readonly line: number;
}

interface Stage {
  readonly index: number;
  readonly image: string;
  readonly name: string | null;
  readonly line: number;
  readonly instructions: Instruction[];
}

/** Instructions of a Dockerfile: comments dropped (also inside continuations), `\` lines joined. */
function parseInstructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending: { text: string; line: number } | null = null;
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    if (/^\s*#/.test(raw)) {
      if (pending === null && /^#\s*escape\s*=/i.test(raw))
        throw new Error(`line ${i + 1}: the escape directive is not supported by this parser`);
      return;
    }
    if (pending === null && raw.trim() === '') return;
    const continued = /\\\s*$/.test(raw);
    const body = continued ? raw.replace(/\\\s*$/, '') : raw;
    pending =
      pending === null ? { text: body, line: i + 1 } : { ...pending, text: pending.text + body };
    if (!continued) {
      const match = /^\s*([A-Za-z]+)\s*([\s\S]*)$/.exec(pending.text);
      if (!match) throw new Error(`line ${pending.line}: not an instruction: ${pending.text}`);
      out.push({ keyword: match[1]!.toUpperCase(), args: match[2]!.trim(), line: pending.line });
      pending = null;
    }
  });
  if (pending !== null) throw new Error('the file ends inside a continued instruction');
  return out;
}

function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  for (const instruction of parseInstructions(text)) {
    if (instruction.keyword === 'FROM') {
      const { rest } = flagsOf(instruction.args);
      const [image, as, name] = rest.split(/\s+/);
      if (!image || (as !== undefined && (as.toUpperCase() !== 'AS' || !name)))
        throw new Error(`line ${instruction.line}: FROM ${instruction.args} is not understood`);
      stages.push({
        index: stages.length,
        image,
        name: name ?? null,
        line: instruction.line,
        instructions: [],
      });
    } else if (stages.length === 0) {
      if (instruction.keyword !== 'ARG')
        throw new Error(`line ${instruction.line}: ${instruction.keyword} before the first FROM`);
    } else stages[stages.length - 1]!.instructions.push(instruction);
  }
  if (stages.length === 0) throw new Error('no FROM');
  return stages;
}

/** Leading `--name=value` flags (COPY --from, HEALTHCHECK --interval...) and what follows. */
function flagsOf(args: string): { flags: Record<string, string>; rest: string } {
  const flags: Record<string, string> = {};
  let rest = args.trim();
  for (
    let m = /^--([a-z-]+)(?:=(\S*))?\s*/.exec(rest);
    m;
    m = /^--([a-z-]+)(?:=(\S*))?\s*/.exec(rest)
  ) {
    flags[m[1]!] = m[2] ?? 'true';
    rest = rest.slice(m[0].length);
  }
  return { flags, rest };
}

/** The exec (JSON array) form of CMD/ENTRYPOINT/HEALTHCHECK CMD, or null for the shell form. */
function execForm(args: string): string[] | null {
  if (!args.startsWith('[')) return null;
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string'))
    throw new Error(`${args} is not a JSON array of strings`);
  return parsed as string[];
}

/** Splits on unquoted whitespace, removing quotes and backslash escapes, as ENV does. */
function words(text: string): string[] {
  const out: string[] = [];
  let word: string | null = null;
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < text.length) word += text[++i]!;
      else word += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      word ??= '';
    } else if (c === '\\' && i + 1 < text.length) word = (word ?? '') + text[++i]!;
    else if (/\s/.test(c)) {
      if (word !== null) out.push(word);
      word = null;
    } else word = (word ?? '') + c;
  }
  if (quote) throw new Error(`unclosed quote in ${text}`);
  if (word !== null) out.push(word);
  return out;
}

/** `ENV a=1 b="2 3"` or the legacy `ENV a 1`. */
function envPairs(args: string): [string, string][] {
  const parts = words(args);
  if (parts.length >= 1 && !parts[0]!.includes('=')) {
    const [name, ...value] = args.trim().split(/\s+/);
    return [[name!, value.join(' ')]];
  }
  return parts.map((p) => {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new Error(`ENV ${args}: ${p} is not name=value`);
    return [p.slice(0, eq), p.slice(eq + 1)];
  });
}

/** ENV of a stage, with those of the stages it is built FROM. */
function stageEnv(stages: readonly Stage[], stage: Stage): Record<string, string> {
  const parent = stages.find((s) => s.index < stage.index && s.name === stage.image);
  const env: Record<string, string> = parent ? stageEnv(stages, parent) : {};
  for (const i of stage.instructions)
    if (i.keyword === 'ENV') for (const [k, v] of envPairs(i.args)) env[k] = v;
  return env;
}

function workdirOf(stage: Stage): string {
  let dir = '/';
  for (const i of stage.instructions) if (i.keyword === 'WORKDIR') dir = posix.resolve(dir, i.args);
  return dir;
}

interface Copy {
  readonly instruction: Instruction;
  readonly from: string | null;
  readonly sources: string[];
  readonly dest: string;
  /** Where each source lands, absolute in the image. */
  readonly targets: string[];
}

function copiesOf(stage: Stage): Copy[] {
  const out: Copy[] = [];
  let dir = '/';
  for (const instruction of stage.instructions) {
    if (instruction.keyword === 'WORKDIR') dir = posix.resolve(dir, instruction.args);
    if (instruction.keyword !== 'COPY' && instruction.keyword !== 'ADD') continue;
    const { flags, rest } = flagsOf(instruction.args);
    const parts = execForm(rest) ?? rest.split(/\s+/);
    const dest = parts[parts.length - 1]!;
    const sources = parts.slice(0, -1);
    const intoDir = dest.endsWith('/') || sources.length > 1;
    const base = posix.resolve(dir, dest);
    out.push({
      instruction,
      from: flags.from ?? null,
      sources,
      dest,
      targets: sources.map((s) => (intoDir ? posix.join(base, posix.basename(s)) : base)),
    });
  }
  return out;
}

const runs = (stage: Stage, pattern: RegExp): boolean =>
  stage.instructions.some((i) => i.keyword === 'RUN' && pattern.test(i.args));

// --- compose ------------------------------------------------------------------------------

interface Service {
  readonly image?: string;
  readonly build?: string | { context?: string; dockerfile?: string };
  readonly environment?: Record<string, unknown> | string[];
  readonly ports?: (string | number | { target?: number; published?: string | number })[];
  readonly volumes?: (string | { source?: string; target?: string; type?: string })[];
  readonly depends_on?: string[] | Record<string, { condition?: string }>;
  readonly healthcheck?: { test?: unknown; disable?: boolean };
  readonly deploy?: {
    resources?: {
      reservations?: {
        devices?: {
          driver?: string;
          count?: number | string;
          device_ids?: string[];
          capabilities?: string[];
        }[];
      };
    };
  };
}

interface ComposeFile {
  readonly services?: Record<string, Service>;
  readonly volumes?: Record<string, unknown>;
}

/**
 * Compose's interpolation: `$$`, `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
 * `${VAR:?message}`, `${VAR?message}`. A required variable that `vars` lacks throws.
 */
function interpolate(value: string, vars: Readonly<Record<string, string>>): string {
  return value.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (whole, braced?: string, op?: string, arg?: string, bare?: string) => {
      if (whole === '$$') return '$';
      const name = (braced ?? bare)!;
      const set = vars[name];
      const empty = set === undefined || (op?.startsWith(':') === true && set === '');
      if (op?.endsWith('-')) return empty ? arg! : set!;
      if (op?.endsWith('?')) {
        if (empty) throw new Error(`${name} is required: ${arg}`);
        return set!;
      }
      return set ?? '';
    },
  );
}

function parseCompose(files: Files): ComposeFile {
  return parseYaml(files[COMPOSE]!) as ComposeFile;
}

/** A service's environment as written (uninterpolated), from either of compose's two forms. */
function rawEnvironment(service: Service): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env))
    return Object.fromEntries(
      env.map((e) => {
        const eq = e.indexOf('=');
        return eq < 0 ? [e, ''] : [e.slice(0, eq), e.slice(eq + 1)];
      }),
    );
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v == null ? '' : String(v)]));
}

function buildOf(service: Service): { context: string; dockerfile: string } | null {
  if (service.build === undefined) return null;
  const build = typeof service.build === 'string' ? { context: service.build } : service.build;
  const context = resolve(ROOT, 'docker', build.context ?? '.');
  return { context, dockerfile: resolve(context, build.dockerfile ?? 'Dockerfile') };
}

/** The repository path of the Dockerfile a service builds, or null. */
function dockerfileOf(service: Service): string | null {
  const build = buildOf(service);
  return build ? relative(ROOT, build.dockerfile).split('\\').join('/') : null;
}

/** What a container of this service sees: its image's ENV, then the service's environment. */
function containerEnv(files: Files, service: Service): Record<string, string> {
  const dockerfile = dockerfileOf(service);
  const image = dockerfile && files[dockerfile] ? finalEnv(files[dockerfile]!) : {};
  const own = Object.fromEntries(
    Object.entries(rawEnvironment(service)).map(([k, v]) => [k, interpolate(v, SAMPLE_VARIABLES)]),
  );
  return { ...image, ...own };
}

function finalEnv(dockerfile: string): Record<string, string> {
  const stages = parseDockerfile(dockerfile);
  return stageEnv(stages, stages[stages.length - 1]!);
}

// --- .dockerignore ------------------------------------------------------------------------

/** True when the build context leaves `path` out (Docker's rules: in order, last match wins). */
function ignored(dockerignore: string, path: string): boolean {
  let out = false;
  for (const raw of dockerignore.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const negate = line.startsWith('!');
    const pattern = posix.normalize((negate ? line.slice(1) : line).replace(/^\/+/, ''));
    const source = pattern
      .split('**')
      .map((part) =>
        part
          .replace(/[.+^${}()|[\]\\]/g, '\\$&')
          .replace(/\*/g, '[^/]*')
          .replace(/\?/g, '[^/]'),
      )
      .join('.*');
    // A pattern that matches a folder leaves out everything in it.
    if (new RegExp(`^${source.replace(/^\.\*\//, '(?:.*/)?')}(?:/.*)?$`).test(path)) out = !negate;
  }
  return out;
}

function filesUnder(path: string): string[] {
  const full = join(ROOT, path);
  if (!statSync(full).isDirectory()) return [path];
  return readdirSync(full).flatMap((entry) => filesUnder(posix.join(path, entry)));
}

// --- the checks: each returns its problems, [] when all is well -----------------------------

type Check = (files: Files) => string[];

/** Image references must name a tag other than latest, or a digest. */
function unpinned(image: string): string | null {
  if (image.includes('$')) return `${image} depends on a build argument`;
  if (image.includes('@sha256:')) return null;
  const lastSlash = image.lastIndexOf('/');
  const colon = image.indexOf(':', lastSlash + 1);
  if (colon < 0) return `${image} has no tag`;
  if (image.slice(colon + 1) === 'latest') return `${image} uses the tag latest`;
  return null;
}

const dockerfiles = (files: Files) =>
  Object.keys(IMAGE_COMMANDS).map((file) => ({ file, stages: parseDockerfile(files[file]!) }));

const checkPinnedImages: Check = (files) => {
  const problems: string[] = [];
  for (const { file, stages } of dockerfiles(files)) {
    for (const stage of stages) {
      const local = stages.some((s) => s.index < stage.index && s.name === stage.image);
      const why = local ? null : unpinned(stage.image);
      if (why) problems.push(`${file}:${stage.line} FROM ${why}`);
    }
    for (const stage of stages)
      for (const copy of copiesOf(stage)) {
        if (copy.from === null || stages.some((s) => s.name === copy.from)) continue;
        const why = unpinned(copy.from);
        if (why) problems.push(`${file}:${copy.instruction.line} COPY --from=${why}`);
      }
  }
  for (const [name, service] of Object.entries(parseCompose(files).services ?? {})) {
    if (service.build !== undefined || service.image === undefined) continue;
    const why = unpinned(service.image);
    if (why) problems.push(`${COMPOSE} service ${name}: image ${why}`);
  }
  return problems;
};

const checkCopySources: Check = (files) => {
  const problems: string[] = [];
  for (const { file, stages } of dockerfiles(files)) {
    for (const stage of stages) {
      for (const copy of copiesOf(stage)) {
        const where = `${file}:${copy.instruction.line}`;
        if (copy.instruction.keyword === 'ADD')
          problems.push(`${where} ADD: use COPY (ADD fetches URLs and unpacks archives)`);
        if (copy.from === null) {
          for (const source of copy.sources) {
            if (!existsSync(join(ROOT, source))) {
              problems.push(`${where} COPY ${source}: no such path in the repository`);
              continue;
            }
            const left = filesUnder(source).filter((f) => ignored(files[DOCKERIGNORE]!, f));
            if (left.length > 0)
              problems.push(`${where} COPY ${source}: .dockerignore leaves out ${left[0]}`);
          }
          continue;
        }
        const from = stages.find((s) => s.name === copy.from);
        if (!from) {
          if (unpinned(copy.from) !== null)
            problems.push(`${where} COPY --from=${copy.from}: no stage of that name before it`);
          continue;
        }
        if (from.index >= stage.index)
          problems.push(`${where} COPY --from=${copy.from}: that stage comes later`);
        // A stage with instructions must make what is taken from it.
        if (from.instructions.length === 0) continue;
        const fromDir = workdirOf(from);
        const provided = copiesOf(from).flatMap((c) => c.targets);
        for (const source of copy.sources) {
          const path = posix.resolve(fromDir, source);
          const made =
            (path === posix.join(fromDir, 'node_modules') && runs(from, /\bnpm ci\b/)) ||
            (path === posix.join(fromDir, 'dist') &&
              runs(from, /\bnpm run build\b/) &&
              provided.includes(posix.join(fromDir, 'src')) &&
              provided.includes(posix.join(fromDir, 'tsconfig.build.json')));
          if (!made && !provided.some((p) => path === p || path.startsWith(`${p}/`)))
            problems.push(
              `${where} COPY --from=${copy.from} ${source}: that stage does not make it`,
            );
        }
      }
    }
  }
  return problems;
};

/** The commands src/main.ts dispatches on, from its `switch`. */
function mainCommands(): string[] {
  const source = readRepo('src/main.ts');
  return [...source.matchAll(/^\s*case '([a-z-]+)':/gm)]
    .map((m) => m[1]!)
    .filter((c) => !['help', '--help'].includes(c));
}

const checkCommands: Check = (files) => {
  const problems: string[] = [];
  const commands = mainCommands();
  const pkg = JSON.parse(readRepo('package.json')) as { bin?: Record<string, string> };
  const build = JSON.parse(readRepo('tsconfig.build.json')) as {
    compilerOptions?: { rootDir?: string; outDir?: string };
  };
  // dist/main.js is what tsc makes of src/main.ts, and what `filterscope` runs.
  if (
    pkg.bin?.filterscope !== 'dist/main.js' ||
    build.compilerOptions?.rootDir !== 'src' ||
    build.compilerOptions.outDir !== 'dist'
  )
    problems.push(
      'dist/main.js is no longer the compiled src/main.ts (package.json bin, tsconfig.build.json)',
    );
  for (const { file, stages } of dockerfiles(files)) {
    const final = stages[stages.length - 1]!;
    if (final.instructions.some((i) => i.keyword === 'ENTRYPOINT'))
      problems.push(`${file}: ENTRYPOINT in the runtime stage would prefix CMD`);
    const cmds = final.instructions.filter((i) => i.keyword === 'CMD');
    const cmd = cmds[cmds.length - 1];
    if (!cmd) {
      problems.push(`${file}: the runtime stage has no CMD`);
      continue;
    }
    const argv = execForm(cmd.args);
    if (argv === null) {
      problems.push(
        `${file}:${cmd.line} CMD ${cmd.args}: use the exec form so node gets the signals`,
      );
      continue;
    }
    const [node, script, command, ...extra] = argv;
    if (node !== 'node' || script !== 'dist/main.js' || extra.length > 0)
      problems.push(
        `${file}:${cmd.line} CMD ${cmd.args}: expected ["node", "dist/main.js", <command>]`,
      );
    if (command === undefined || !commands.includes(command))
      problems.push(
        `${file}:${cmd.line} CMD: ${command} is not a command of src/main.ts (${commands.join(', ')})`,
      );
    else if (command !== IMAGE_COMMANDS[file])
      problems.push(
        `${file}:${cmd.line} CMD runs ${command}; this image is for ${IMAGE_COMMANDS[file]}`,
      );
  }
  return problems;
};

const FILTERSCOPE_VARIABLE = /^(FILTERSCOPE_\w+|PORT|HOST|DATABASE_URL)$/;

function configProblems(where: string, env: Record<string, string>): string[] {
  const problems: string[] = [];
  for (const name of Object.keys(env))
    if (FILTERSCOPE_VARIABLE.test(name) && !(name in ENVIRONMENT))
      problems.push(
        `${where}: ${name} is not a variable filterscope reads (src/config.ts ENVIRONMENT)`,
      );
  try {
    loadConfig(env);
  } catch (error) {
    problems.push(`${where}: ${(error as Error).message}`);
  }
  return problems;
}

const checkEnvironment: Check = (files) => {
  const problems: string[] = [];
  for (const { file, stages } of dockerfiles(files))
    for (const stage of stages) {
      const problemsHere = configProblems(
        `${file} stage ${stage.name ?? stage.index}`,
        stageEnv(stages, stage),
      );
      problems.push(...problemsHere);
    }
  for (const [name, service] of Object.entries(parseCompose(files).services ?? {})) {
    if (name === 'postgres') continue;
    let env: Record<string, string>;
    try {
      env = containerEnv(files, service);
    } catch (error) {
      problems.push(`${COMPOSE} service ${name}: ${(error as Error).message}`);
      continue;
    }
    problems.push(...configProblems(`${COMPOSE} service ${name}`, env));
  }
  return problems;
};

const checkHealthcheck: Check = (files) => {
  const problems: string[] = [];
  for (const { file, stages } of dockerfiles(files)) {
    const final = stages[stages.length - 1]!;
    const checks = final.instructions.filter((i) => i.keyword === 'HEALTHCHECK');
    const check = checks[checks.length - 1];
    if (!check) {
      if (IMAGE_COMMANDS[file] === 'serve')
        problems.push(`${file}: the serve image has no HEALTHCHECK`);
      continue;
    }
    const { rest } = flagsOf(check.args);
    if (/^NONE$/i.test(rest)) {
      if (IMAGE_COMMANDS[file] === 'serve')
        problems.push(`${file}: HEALTHCHECK NONE on the serve image`);
      continue;
    }
    const argv = /^CMD\s+/i.test(rest) ? execForm(rest.replace(/^CMD\s+/i, '')) : null;
    if (argv === null) {
      problems.push(`${file}:${check.line} HEALTHCHECK: expected CMD in the exec form`);
      continue;
    }
    if (argv[0] !== 'node')
      problems.push(
        `${file}:${check.line} HEALTHCHECK runs ${argv[0]}: only node is sure to be in the image`,
      );
    if (!argv.join(' ').includes('/readyz'))
      problems.push(`${file}:${check.line} HEALTHCHECK does not ask /readyz`);
    if (!argv.join(' ').includes('process.env.PORT'))
      problems.push(`${file}:${check.line} HEALTHCHECK ignores PORT`);
  }
  return problems;
};

/** Packages whose files the server reads from node_modules at run time (src/server/static.ts). */
function runtimeNodeModules(): string[] {
  const source = readRepo('src/server/static.ts');
  return [...source.matchAll(/'node_modules', '([^']+)'/g)].map((m) => m[1]!);
}

/** What the server reads at run time, relative to the package root. */
const RUNTIME_PATHS = [
  'package.json',
  'dist',
  'migrations',
  'src/server/dashboard',
  'node_modules',
];

const checkRuntimeStage: Check = (files) => {
  const problems: string[] = [];
  const pkg = JSON.parse(readRepo('package.json')) as { dependencies?: Record<string, string> };
  for (const name of runtimeNodeModules())
    if (!pkg.dependencies?.[name])
      problems.push(`package.json: ${name} is read at run time but is not a production dependency`);
  for (const { file, stages } of dockerfiles(files)) {
    const final = stages[stages.length - 1]!;
    const dir = workdirOf(final);
    if (dir === '/') problems.push(`${file}: the runtime stage sets no WORKDIR`);
    const copies = copiesOf(final);
    for (const path of RUNTIME_PATHS) {
      const target = posix.join(dir, path);
      const copy = copies.find((c) => c.targets.includes(target));
      if (!copy) {
        problems.push(`${file}: the runtime stage lacks ${target}`);
        continue;
      }
      if (path === 'node_modules') {
        const from = stages.find((s) => s.name === copy.from);
        if (!from || !runs(from, /\bnpm (prune|ci)\b.*--omit=dev\b/))
          problems.push(
            `${file}: node_modules comes with the dev dependencies (no npm prune --omit=dev)`,
          );
      }
    }
    const users = final.instructions.filter((i) => i.keyword === 'USER');
    const user = users[users.length - 1]?.args.split(':')[0];
    if (user === undefined || user === 'root' || user === '0')
      problems.push(`${file}: the runtime stage runs as root`);
    if (IMAGE_COMMANDS[file] === 'serve') {
      const port = stageEnv(stages, final).PORT ?? '4000';
      const exposed = final.instructions
        .filter((i) => i.keyword === 'EXPOSE')
        .flatMap((i) => i.args.split(/\s+/).map((p) => p.split('/')[0]));
      if (!exposed.includes(port)) problems.push(`${file}: PORT ${port} is not EXPOSEd`);
    }
  }
  return problems;
};

function dependsOn(service: Service, on: string): string | null {
  const deps = service.depends_on;
  if (deps === undefined) return null;
  if (Array.isArray(deps)) return deps.includes(on) ? 'service_started' : null;
  const dep = deps[on];
  return dep ? (dep.condition ?? 'service_started') : null;
}

function hasHealthcheck(files: Files, service: Service): boolean {
  if (service.healthcheck?.disable) return false;
  if (service.healthcheck?.test !== undefined) return true;
  const dockerfile = dockerfileOf(service);
  if (!dockerfile || !files[dockerfile]) return false;
  const stages = parseDockerfile(files[dockerfile]!);
  return stages[stages.length - 1]!.instructions.some(
    (i) => i.keyword === 'HEALTHCHECK' && !/^NONE$/i.test(flagsOf(i.args).rest),
  );
}

function namedVolume(volume: string | { source?: string; target?: string; type?: string }) {
  const [source, target] =
    typeof volume === 'string' ? volume.split(':') : [volume.source, volume.target];
  const named = source !== undefined && !source.startsWith('.') && !source.startsWith('/');
  return { source: named ? source : null, target };
}

const checkCompose: Check = (files) => {
  const problems: string[] = [];
  const compose = parseCompose(files);
  const services = compose.services ?? {};
  for (const name of ['postgres', 'api', 'worker'])
    if (!services[name]) problems.push(`${COMPOSE}: no ${name} service`);
  const { postgres, api, worker } = services;
  if (!postgres || !api || !worker) return problems;

  for (const [name, service] of Object.entries(services)) {
    const build = buildOf(service);
    if (build === null) {
      if (service.image === undefined) problems.push(`${COMPOSE} ${name}: neither image nor build`);
      continue;
    }
    // The Dockerfiles COPY paths of the repository root: that must be the context.
    if (build.context !== ROOT)
      problems.push(
        `${COMPOSE} ${name}: build context ${build.context} is not the repository root`,
      );
    if (!existsSync(build.dockerfile)) problems.push(`${COMPOSE} ${name}: no ${build.dockerfile}`);
  }
  if (dockerfileOf(api) !== DOCKERFILE)
    problems.push(`${COMPOSE} api: does not build ${DOCKERFILE}`);
  if (dockerfileOf(worker) !== DOCKERFILE_GPU)
    problems.push(`${COMPOSE} worker: does not build ${DOCKERFILE_GPU}`);

  const gpu = worker.deploy?.resources?.reservations?.devices?.some(
    (d) =>
      d.driver === 'nvidia' &&
      (d.capabilities ?? []).includes('gpu') &&
      (d.count === 'all' ||
        (typeof d.count === 'number' && d.count >= 1) ||
        (d.device_ids ?? []).length > 0),
  );
  if (!gpu)
    problems.push(
      `${COMPOSE} worker: reserves no NVIDIA GPU (deploy.resources.reservations.devices)`,
    );

  if (postgres.healthcheck?.test === undefined)
    problems.push(`${COMPOSE} postgres: no healthcheck`);
  if (dependsOn(api, 'postgres') !== 'service_healthy')
    problems.push(`${COMPOSE} api: does not wait for a healthy postgres`);
  if (dependsOn(worker, 'api') !== 'service_healthy')
    problems.push(`${COMPOSE} worker: does not wait for a healthy (migrated) api`);
  if (!hasHealthcheck(files, api)) problems.push(`${COMPOSE} api: has no healthcheck to wait for`);

  const apiRaw = rawEnvironment(api);
  if (!/^\$\{FILTERSCOPE_API_KEYS:\?[^}]+\}$/.test(apiRaw.FILTERSCOPE_API_KEYS ?? ''))
    problems.push(`${COMPOSE} api: FILTERSCOPE_API_KEYS must be \${FILTERSCOPE_API_KEYS:?message}`);
  let apiEnv: Record<string, string>;
  let workerEnv: Record<string, string>;
  try {
    apiEnv = containerEnv(files, api);
    workerEnv = containerEnv(files, worker);
  } catch (error) {
    return [...problems, `${COMPOSE}: ${(error as Error).message}`];
  }
  if (apiEnv.HOST !== '0.0.0.0')
    problems.push(`${COMPOSE} api: HOST is ${apiEnv.HOST}, not 0.0.0.0`);
  if (apiEnv.FILTERSCOPE_RUNNERS !== '0')
    problems.push(`${COMPOSE} api: FILTERSCOPE_RUNNERS is not 0 (jobs belong to the workers)`);
  if (workerEnv.FILTERSCOPE_BACKEND !== 'webgpu')
    problems.push(`${COMPOSE} worker: FILTERSCOPE_BACKEND is not webgpu`);
  // Docker sets NVIDIA_DRIVER_CAPABILITIES from the reservation's capabilities when it names any
  // besides gpu; else the image's ENV applies. Either way Vulkan needs `graphics`.
  const named = (worker.deploy?.resources?.reservations?.devices ?? []).flatMap((d) =>
    (d.capabilities ?? []).filter((c) => c !== 'gpu'),
  );
  const capabilities =
    named.length > 0 ? named : (workerEnv.NVIDIA_DRIVER_CAPABILITIES ?? '').split(',');
  if (!capabilities.includes('graphics') && !capabilities.includes('all'))
    problems.push(
      `${COMPOSE} worker: no graphics capability, so the NVIDIA driver's Vulkan ICD is not mounted`,
    );

  // Both talk to the postgres service, with its user, password and database.
  const pgEnv = Object.fromEntries(
    Object.entries(rawEnvironment(postgres)).map(([k, v]) => [k, interpolate(v, SAMPLE_VARIABLES)]),
  );
  for (const [name, env] of [
    ['api', apiEnv],
    ['worker', workerEnv],
  ] as const) {
    const raw = env.DATABASE_URL;
    if (!raw) {
      problems.push(`${COMPOSE} ${name}: no DATABASE_URL`);
      continue;
    }
    const url = new URL(raw);
    if (
      url.hostname !== 'postgres' ||
      decodeURIComponent(url.username) !== (pgEnv.POSTGRES_USER ?? 'postgres') ||
      decodeURIComponent(url.password) !== pgEnv.POSTGRES_PASSWORD ||
      url.pathname.slice(1) !== (pgEnv.POSTGRES_DB ?? pgEnv.POSTGRES_USER ?? 'postgres')
    )
      problems.push(`${COMPOSE} ${name}: DATABASE_URL ${raw} does not match the postgres service`);
  }

  const port = apiEnv.PORT ?? '4000';
  const published = (api.ports ?? []).some((p) =>
    typeof p === 'object' ? String(p.target) === port : String(p).split(':').pop() === port,
  );
  if (!published) problems.push(`${COMPOSE} api: container port ${port} is not published`);

  const declared = Object.keys(compose.volumes ?? {});
  for (const [name, service] of Object.entries(services))
    for (const volume of service.volumes ?? []) {
      const { source } = namedVolume(volume);
      if (source !== null && !declared.includes(source))
        problems.push(`${COMPOSE} ${name}: volume ${source} is not declared under volumes`);
    }
  for (const [name, service, env] of [
    ['api', api, apiEnv],
    ['worker', worker, workerEnv],
  ] as const) {
    const data = env.FILTERSCOPE_DATA;
    const mounted = (service.volumes ?? []).some((v) => namedVolume(v).target === data);
    if (!data || !mounted)
      problems.push(`${COMPOSE} ${name}: no volume at FILTERSCOPE_DATA (${data})`);
  }
  if (!(postgres.volumes ?? []).some((v) => namedVolume(v).target === '/var/lib/postgresql/data'))
    problems.push(`${COMPOSE} postgres: its data is in no volume`);
  return problems;
};

const checkDockerignore: Check = (files) =>
  [
    'node_modules',
    'dist',
    '.git',
    '.filterscope',
    'test-artifacts',
    'bench/out',
    '.gpu-check',
    '.env',
    'docker/.env',
  ]
    .filter((path) => !ignored(files[DOCKERIGNORE]!, path))
    .map((path) => `${DOCKERIGNORE}: ${path} goes into the build context`);

/**
 * The GPU image runs the webgpu backend: Dawn through Vulkan, with no CUDA toolkit. It needs the
 * Vulkan loader in the runtime stage, the NVIDIA driver's graphics capability (which mounts its
 * Vulkan ICD file and library), FILTERSCOPE_BACKEND=webgpu, and Dawn's binding kept for this
 * platform when the others are pruned.
 */
const checkWebgpuImage: Check = (files) => {
  const problems: string[] = [];
  const stages = parseDockerfile(files[DOCKERFILE_GPU]!);
  const final = stages[stages.length - 1]!;
  const env = stageEnv(stages, final);
  if (stages.some((s) => /cuda/i.test(s.image)))
    problems.push(`${DOCKERFILE_GPU}: a CUDA base image; the webgpu backend needs no CUDA toolkit`);
  if (!runs(final, /apt-get install[^&]*\blibvulkan1\b/))
    problems.push(
      `${DOCKERFILE_GPU}: the runtime stage does not install libvulkan1 (the Vulkan loader Dawn opens)`,
    );
  const capabilities = (env.NVIDIA_DRIVER_CAPABILITIES ?? '').split(',');
  if (!capabilities.includes('graphics') && !capabilities.includes('all'))
    problems.push(
      `${DOCKERFILE_GPU}: NVIDIA_DRIVER_CAPABILITIES lacks graphics (the driver's Vulkan ICD is mounted only with it)`,
    );
  if (env.FILTERSCOPE_BACKEND !== 'webgpu')
    problems.push(
      `${DOCKERFILE_GPU}: FILTERSCOPE_BACKEND is ${env.FILTERSCOPE_BACKEND}, not webgpu`,
    );
  const build = stages.find((s) => s.name === 'build');
  if (build && runs(build, /rm -rf[^&]*node_modules\/webgpu(\s|$)/))
    problems.push(`${DOCKERFILE_GPU}: the build removes node_modules/webgpu`);
  if (build && !runs(build, /dawn\.node/))
    problems.push(
      `${DOCKERFILE_GPU}: the build does not check that dawn.node stays for this platform`,
    );
  return problems;
};

const CHECKS: Readonly<Record<string, Check>> = {
  'base images have pinned tags': checkPinnedImages,
  'COPY sources exist and reach the build context': checkCopySources,
  'CMD is node dist/main.js <a command of src/main.ts>': checkCommands,
  'environment variables are filterscope variables with valid values': checkEnvironment,
  'the HEALTHCHECK asks /readyz with node': checkHealthcheck,
  'the runtime stage holds what the server reads, as a non-root user': checkRuntimeStage,
  'compose wires postgres, api and a GPU worker': checkCompose,
  'the GPU image runs webgpu on Vulkan without CUDA': checkWebgpuImage,
  '.dockerignore keeps local state out of the context': checkDockerignore,
};

// --- the tests ----------------------------------------------------------------------------

describe('the Dockerfile parser', () => {
  it('joins continuation lines, skips comments inside them, and splits stages', () => {
    const stages = parseDockerfile(
      [
        '# syntax=docker/dockerfile:1',
        'ARG X=1',
        'FROM node:20 AS build',
        'RUN a \\',
        '# a comment in the middle',
        '    && b',
        'FROM build',
        'ENV A=1 B="two words" \\',
        '    C=3',
        'ENV D four',
        'CMD ["node", "x.js"]',
      ].join('\n'),
    );
    expect(stages.map((s) => [s.image, s.name])).toEqual([
      ['node:20', 'build'],
      ['build', null],
    ]);
    expect(stages[0]!.instructions).toEqual([{ keyword: 'RUN', args: 'a     && b', line: 4 }]);
    expect(stageEnv(stages, stages[1]!)).toEqual({ A: '1', B: 'two words', C: '3', D: 'four' });
    expect(execForm(stages[1]!.instructions[2]!.args)).toEqual(['node', 'x.js']);
  });

  it('interpolates compose variables and refuses a missing required one', () => {
    expect(interpolate('a${X:-d}b${Y-e}$$${Z}', { Y: '' })).toBe('adb$');
    expect(() => interpolate('${K:?set K}', {})).toThrow('K is required: set K');
    expect(interpolate('${K:?set K}', { K: 'v' })).toBe('v');
  });

  it('applies .dockerignore as Docker does', () => {
    const rules = 'node_modules\n**/*.map\nbench/out\n!bench/out/keep\n';
    expect(ignored(rules, 'node_modules/x/y.js')).toBe(true);
    expect(ignored(rules, 'src/a.js.map')).toBe(true);
    expect(ignored(rules, 'bench/out/a.js')).toBe(true);
    expect(ignored(rules, 'bench/out/keep')).toBe(false);
    expect(ignored(rules, 'src/node_modules')).toBe(false);
  });
});

describe('the container files', () => {
  it.each(Object.keys(CHECKS))('%s', (name) => {
    expect(CHECKS[name]!(COMMITTED)).toEqual([]);
  });

  it('compose refuses to start the api without FILTERSCOPE_API_KEYS', () => {
    const api = parseCompose(COMMITTED).services!.api!;
    expect(() => interpolate(rawEnvironment(api).FILTERSCOPE_API_KEYS!, {})).toThrow(
      /FILTERSCOPE_API_KEYS is required/,
    );
  });
});

/**
 * Broken copies of the files, one mistake each, and what the check named first must say about
 * it: `check | file | text to replace (exactly once) | replacement | expected problem`. In the
 * text, `\n` is a newline and `\$` a dollar sign.
 */
const MUTATIONS = String.raw`
checkPinnedImages | docker/Dockerfile | FROM node:20.20.2-bookworm-slim AS build | FROM node AS build | FROM node has no tag
checkPinnedImages | docker/Dockerfile.cuda | FROM nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04\n | FROM nvidia/cuda:latest\n | FROM nvidia/cuda:latest uses the tag latest
checkPinnedImages | docker/Dockerfile.gpu | FROM node:20.20.2-bookworm-slim\n | FROM node:latest\n | FROM node:latest uses the tag latest
checkPinnedImages | docker/compose.yaml | image: postgres:15 | image: postgres | service postgres: image postgres has no tag
checkCopySources | docker/Dockerfile | COPY migrations ./migrations | COPY migration ./migrations | COPY migration: no such path in the repository
checkCopySources | .dockerignore | bench/out\n | bench/out\nmigrations/meta\n | COPY migrations: .dockerignore leaves out migrations/meta/
checkCopySources | docker/Dockerfile.gpu | COPY --from=build /app/dist ./dist | COPY --from=builder /app/dist ./dist | COPY --from=builder: no stage of that name before it
checkCopySources | docker/Dockerfile | RUN npm run build \ | RUN true \ | COPY --from=build /app/dist: that stage does not make it
checkCommands | docker/Dockerfile | CMD ["node", "dist/main.js", "serve"] | CMD ["node", "dist/main.js", "serv"] | serv is not a command of src/main.ts
checkCommands | docker/Dockerfile | CMD ["node", "dist/main.js", "serve"] | CMD node dist/main.js serve | use the exec form
checkCommands | docker/Dockerfile.gpu | CMD ["node", "dist/main.js", "worker"] | CMD ["node", "dist/main.js", "serve"] | CMD runs serve; this image is for worker
checkCommands | docker/Dockerfile.gpu | CMD ["node", "dist/main.js", "worker"] | CMD ["node", "main.js", "worker"] | expected ["node", "dist/main.js", <command>]
checkEnvironment | docker/Dockerfile | FILTERSCOPE_HOME=/var/lib/filterscope | FILTERSCOPE_HOMEDIR=/var/lib/filterscope | FILTERSCOPE_HOMEDIR is not a variable filterscope reads
checkEnvironment | docker/Dockerfile | PORT=4000 | PORT=http | PORT="http" is invalid
checkEnvironment | docker/compose.yaml | FILTERSCOPE_RUNNERS: '0' | FILTERSCOPE_RUNNERS: 'none' | service api: FILTERSCOPE_RUNNERS="none" is invalid
checkEnvironment | docker/compose.yaml | FILTERSCOPE_BACKEND: webgpu | FILTERSCOPE_BACKEND: cuda | service worker: FILTERSCOPE_BACKEND="cuda" is invalid
checkEnvironment | docker/Dockerfile.gpu | FILTERSCOPE_BACKEND=webgpu | FILTERSCOPE_BACKEND=gpu | FILTERSCOPE_BACKEND="gpu" is invalid
checkEnvironment | docker/Dockerfile.cuda | FILTERSCOPE_BACKEND=tensorflow-gpu | FILTERSCOPE_BACKEND=cuda | FILTERSCOPE_BACKEND="cuda" is invalid
checkHealthcheck | docker/Dockerfile | /readyz' | /healthz' | HEALTHCHECK does not ask /readyz
checkHealthcheck | docker/Dockerfile | CMD ["node", "-e", "fetch( | CMD ["curl", "-e", "fetch( | HEALTHCHECK runs curl
checkHealthcheck | docker/Dockerfile | HEALTHCHECK --interval | # HEALTHCHECK --interval | the serve image has no HEALTHCHECK
checkRuntimeStage | docker/Dockerfile | COPY src/server/dashboard ./src/server/dashboard\n |  | the runtime stage lacks /app/src/server/dashboard
checkRuntimeStage | docker/Dockerfile.gpu | COPY package.json ./\n |  | the runtime stage lacks /app/package.json
checkRuntimeStage | docker/Dockerfile | USER node | USER root | the runtime stage runs as root
checkRuntimeStage | docker/Dockerfile.gpu |     && npm prune --omit=dev --ignore-scripts --no-audit --no-fund \\n |  | node_modules comes with the dev dependencies
checkRuntimeStage | docker/Dockerfile | EXPOSE 4000 | EXPOSE 8080 | PORT 4000 is not EXPOSEd
checkCompose | docker/compose.yaml | driver: nvidia | driver: amd | worker: reserves no NVIDIA GPU
checkCompose | docker/compose.yaml | capabilities: [gpu, compute, utility, graphics] | capabilities: [gpu, compute, utility] | worker: no graphics capability
checkCompose | docker/compose.yaml | FILTERSCOPE_BACKEND: webgpu | FILTERSCOPE_BACKEND: wasm | worker: FILTERSCOPE_BACKEND is not webgpu
checkCompose | docker/compose.yaml | capabilities: [gpu, compute, utility, graphics] | capabilities: [utility, graphics] | worker: reserves no NVIDIA GPU
checkCompose | docker/compose.yaml |               count: 1\n |               count: 0\n | worker: reserves no NVIDIA GPU
checkCompose | docker/compose.yaml | postgres:\n        condition: service_healthy | postgres:\n        condition: service_started | api: does not wait for a healthy postgres
checkCompose | docker/compose.yaml | api:\n        condition: service_healthy | api:\n        condition: service_started | worker: does not wait for a healthy (migrated) api
checkCompose | docker/compose.yaml | test: ['CMD-SHELL', 'pg_isready -U filterscope -d filterscope'] |  | postgres: no healthcheck
checkCompose | docker/compose.yaml | HOST: 0.0.0.0 | HOST: 127.0.0.1 | api: HOST is 127.0.0.1, not 0.0.0.0
checkCompose | docker/compose.yaml | FILTERSCOPE_API_KEYS: \${FILTERSCOPE_API_KEYS:? | FILTERSCOPE_API_KEYS: \${FILTERSCOPE_API_KEYS:- | api: FILTERSCOPE_API_KEYS must be \${FILTERSCOPE_API_KEYS:?message}
checkCompose | docker/compose.yaml | FILTERSCOPE_RUNNERS: '0' | FILTERSCOPE_RUNNERS: '2' | api: FILTERSCOPE_RUNNERS is not 0
checkCompose | docker/compose.yaml | dockerfile: docker/Dockerfile.gpu | dockerfile: docker/Dockerfile.nvidia | docker/Dockerfile.nvidia
checkCompose | docker/compose.yaml | context: ..\n      dockerfile: docker/Dockerfile\n | context: .\n      dockerfile: Dockerfile\n | is not the repository root
checkCompose | docker/compose.yaml | @postgres:5432 | @db:5432 | does not match the postgres service
checkCompose | docker/compose.yaml |     ports:\n      - '4000:4000'\n |  | api: container port 4000 is not published
checkCompose | docker/compose.yaml |       - datasets:/data:ro\n    deploy: |       - data:/data:ro\n    deploy: | worker: volume data is not declared under volumes
checkCompose | docker/compose.yaml |       - pgdata:/var/lib/postgresql/data\n |  | postgres: its data is in no volume
checkDockerignore | .dockerignore | \nnode_modules\n | \n | node_modules goes into the build context
checkDockerignore | .dockerignore | **/.env\n |  | docker/.env goes into the build context
checkDockerignore | .dockerignore | \n.gpu-check\n | \n | .gpu-check goes into the build context
checkWebgpuImage | docker/Dockerfile.gpu |        libvulkan1 libglvnd0 | libglvnd0 | does not install libvulkan1
checkWebgpuImage | docker/Dockerfile.gpu | NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics | NVIDIA_DRIVER_CAPABILITIES=compute,utility | NVIDIA_DRIVER_CAPABILITIES lacks graphics
checkWebgpuImage | docker/Dockerfile.gpu | FROM node:20.20.2-bookworm-slim\n# libvulkan1 | FROM nvidia/cuda:12.4.1-base-ubuntu22.04\n# libvulkan1 | a CUDA base image
checkWebgpuImage | docker/Dockerfile.gpu |     && rm -rf node_modules/@tensorflow/tfjs-node node_modules/@tensorflow/tfjs-node-gpu \ |     && rm -rf node_modules/webgpu \ | the build removes node_modules/webgpu
checkWebgpuImage | docker/Dockerfile.gpu |     && test -f "node_modules/webgpu/dist/$keep/dawn.node" \\n |  | does not check that dawn.node stays
`
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => {
    const fields = line.split(' | ').map((f) => f.replace(/\\n/g, '\n').replace(/\\\$/g, '$'));
    if (fields.length !== 5) throw new Error(`a mutation needs 5 fields: ${line}`);
    const [check, file, from, to, problem] = fields as [string, string, string, string, string];
    return { check, file, from, to, problem };
  });

describe('each check rejects the mistake it is for', () => {
  const byName = Object.fromEntries(Object.values(CHECKS).map((c) => [c.name, c]));
  it.each(MUTATIONS.map((m) => ({ ...m, title: `${m.file}: ${m.problem}` })))(
    '$check on $title',
    ({ check, file, from, to, problem }) => {
      const original = COMMITTED[file]!;
      // The mistake must still apply to the file as it is now, and exactly once.
      expect(original.split(from).length - 1).toBe(1);
      const broken = { ...COMMITTED, [file]: original.replace(from, () => to) };
      expect(byName[check]!(broken).join('\n')).toContain(problem);
    },
  );

  it('covers every check', () => {
    expect(new Set(MUTATIONS.map((m) => m.check))).toEqual(
      new Set(Object.values(CHECKS).map((c) => c.name)),
    );
  });
});
