import { ConfigError, ENVIRONMENT, loadConfig, parseApiKeys } from '../../src/config.js';

describe('FILTERSCOPE_API_KEYS', () => {
  it('reads names, secrets and roles; no variable means no keys', () => {
    expect(loadConfig({}).apiKeys).toEqual([]);
    expect(
      parseApiKeys('alice=0123456789abcdef,viewer=fedcba9876543210:read, 0000111122223333:write'),
    ).toEqual([
      { name: 'alice', secret: '0123456789abcdef', role: 'write' },
      { name: 'viewer', secret: 'fedcba9876543210', role: 'read' },
      { name: 'key3', secret: '0000111122223333', role: 'write' },
    ]);
  });

  it.each([
    ['short', 'alice=tooshort'],
    ['bad role', 'alice=0123456789abcdef:admin'],
    ['bad name', 'al ice=0123456789abcdef'],
    ['same name', 'a=0123456789abcdef,a=fedcba9876543210'],
    ['same secret', 'a=0123456789abcdef,b=0123456789abcdef'],
    ['empty entry', '0123456789abcdef,,fedcba9876543210'],
  ])('refuses %s, naming the variable and entry but never the secret', (_why, raw) => {
    let error: unknown;
    try {
      loadConfig({ FILTERSCOPE_API_KEYS: raw });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toMatch(/FILTERSCOPE_API_KEYS="entry \d+"/);
    expect(message).not.toContain('0123456789abcdef');
  });
});

describe('FILTERSCOPE_FROZEN_RUNTIME', () => {
  it('takes auto, onnxruntime or tfjs (default auto) and refuses anything else, naming it', () => {
    expect(loadConfig({}).frozenRuntime).toBe('auto');
    for (const value of ['auto', 'onnxruntime', 'tfjs'] as const)
      expect(loadConfig({ FILTERSCOPE_FROZEN_RUNTIME: value }).frozenRuntime).toBe(value);
    expect(() => loadConfig({ FILTERSCOPE_FROZEN_RUNTIME: 'cuda' })).toThrow(
      new ConfigError('FILTERSCOPE_FROZEN_RUNTIME', 'cuda', 'one of auto, onnxruntime, tfjs'),
    );
  });
});

describe('ENVIRONMENT', () => {
  it('lists every variable the source reads', async () => {
    const { execFileSync } = await import('node:child_process');
    const found = execFileSync('grep', ['-rhoE', "env(\\.|\\[.|, ')[A-Z_]{3,}", 'src'], {
      encoding: 'utf8',
    })
      .split('\n')
      .filter(Boolean)
      .map((m) => m.replace(/^env(\.|\[.|, ')/, ''));
    const variables = new Set(found);
    expect(variables.size).toBeGreaterThan(5);
    for (const name of variables) expect(Object.keys(ENVIRONMENT)).toContain(name);
  });
});

describe('README', () => {
  it('documents every environment variable in its configuration table', async () => {
    const { readFileSync } = await import('node:fs');
    const readme = readFileSync('README.md', 'utf8');
    const table = readme.slice(
      readme.indexOf('## Configuration'),
      readme.indexOf('## Where training runs'),
    );
    const documented = [...table.matchAll(/^\| `([A-Z_]+)`/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual(Object.keys(ENVIRONMENT).sort());
  });
});

describe('FILTERSCOPE_WEBGPU_ALLOW_SOFTWARE', () => {
  it('is off unless set, and takes 1/0, true/false, yes/no', () => {
    expect(loadConfig({}).webgpuAllowSoftware).toBe(false);
    expect(loadConfig({ FILTERSCOPE_WEBGPU_ALLOW_SOFTWARE: '' }).webgpuAllowSoftware).toBe(false);
    for (const on of ['1', 'true', 'YES'])
      expect(loadConfig({ FILTERSCOPE_WEBGPU_ALLOW_SOFTWARE: on }).webgpuAllowSoftware).toBe(true);
    for (const off of ['0', 'false', 'no'])
      expect(loadConfig({ FILTERSCOPE_WEBGPU_ALLOW_SOFTWARE: off }).webgpuAllowSoftware).toBe(
        false,
      );
  });

  it('refuses anything else, naming the variable and the value', () => {
    expect(() => loadConfig({ FILTERSCOPE_WEBGPU_ALLOW_SOFTWARE: 'maybe' })).toThrow(
      'FILTERSCOPE_WEBGPU_ALLOW_SOFTWARE="maybe" is invalid: expected 1 or 0 (true/false, yes/no)',
    );
  });

  it('accepts webgpu as FILTERSCOPE_BACKEND', () => {
    expect(loadConfig({ FILTERSCOPE_BACKEND: 'webgpu' }).backend).toBe('webgpu');
  });
});
