import { createLogger } from '../../src/log.js';

describe('createLogger (pino)', () => {
  it('writes one JSON line per record with time, level name, message, base and child fields', () => {
    const lines: string[] = [];
    const log = createLogger('info', { process: 'test' }, (line) => lines.push(line));
    log.debug('hidden');
    log.child({ requestId: 'r-1' }).warn('slow query', { ms: 812 });
    log.error('failed', { error: new TypeError('boom') });
    expect(lines).toHaveLength(2);
    const [warn, error] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(warn).toMatchObject({
      level: 'warn',
      msg: 'slow query',
      ms: 812,
      requestId: 'r-1',
      process: 'test',
    });
    expect(new Date(warn!.time as string).toISOString()).toBe(warn!.time);
    expect(error).toMatchObject({ level: 'error', error: { type: 'TypeError', message: 'boom' } });
    expect((error!.error as { stack: string }).stack).toContain('TypeError: boom');
  });
});
