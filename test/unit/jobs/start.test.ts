import { threadsPerRunner } from '../../../src/jobs/start.js';

describe('threadsPerRunner', () => {
  it('shares the cores between runners, at least one thread each', async () => {
    expect(threadsPerRunner(1, 8)).toBe(8);
    expect(threadsPerRunner(2, 8)).toBe(4);
    expect(threadsPerRunner(3, 8)).toBe(2);
    expect(threadsPerRunner(4, 2)).toBe(1);
  });
});
