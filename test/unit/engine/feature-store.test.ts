import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  fromHalf,
  openFeatureStore,
  removeStaleSpills,
  toHalf,
} from '../../../src/engine/feature-store.js';

describe('feature store', () => {
  let directory: string;
  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'filterscope-store-'));
  });
  afterEach(() => rmSync(directory, { recursive: true, force: true }));

  it('converts to float16 and back as IEEE 754 does (round to nearest even, subnormals, overflow)', () => {
    const cases: [number, number][] = [
      [0, 0],
      [1, 1],
      [-2, -2],
      [65504, 65504],
      [1e6, Infinity],
      [2 ** -24, 2 ** -24],
      [2 ** -26, 0],
      [1 + 2 ** -11, 1], // a tie: to the even mantissa
      [1 + 3 * 2 ** -11, 1 + 2 ** -9],
      [0.1, 0.0999755859375],
    ];
    for (const [value, expected] of cases) expect(fromHalf(toHalf(value))).toBe(expected);
    expect(Number.isNaN(fromHalf(toHalf(NaN)))).toBe(true);
  });

  it('keeps rows in memory within the memory budget, on disk beyond it, and nowhere beyond both', () => {
    const counts = { train: 3, test: 2 };
    const memory = openFeatureStore(4, counts, {
      memoryBytes: 1000,
      diskBytes: 0,
      directory,
      float16: true,
    });
    const disk32 = openFeatureStore(4, counts, {
      memoryBytes: 10,
      diskBytes: 1000,
      directory,
      float16: false,
    });
    const disk16 = openFeatureStore(4, counts, {
      memoryBytes: 10,
      diskBytes: 1000,
      directory,
      float16: true,
    });
    const none = openFeatureStore(4, counts, {
      memoryBytes: 10,
      diskBytes: 10,
      directory,
      float16: true,
    });
    expect([memory.kind, disk32.kind, disk16.kind, none.kind]).toEqual([
      'memory',
      'disk-float32',
      'disk-float16',
      'none',
    ]);
    const row = (i: number) => Float32Array.from([i, i + 0.1, -i, 1 / (i + 3)]);
    for (const store of [memory, disk32, disk16]) {
      // Written out of order, read back by index.
      for (const i of [2, 0, 1]) store.write('train', i, row(i));
      for (const i of [1, 0]) store.write('test', i, row(10 + i));
      const out = new Float32Array(4);
      for (const i of [0, 1, 2]) {
        store.read('train', i, out);
        if (store.kind === 'disk-float16')
          out.forEach((v, k) => expect(v).toBeCloseTo(row(i)[k]!, 2));
        else expect(out).toEqual(row(i));
      }
      store.read('test', 1, out);
      expect(out[0]).toBeCloseTo(11, 2);
    }
    expect(readdirSync(directory)).toHaveLength(4);
    for (const store of [memory, disk32, disk16, none]) store.close();
    disk16.close();
    expect(readdirSync(directory)).toEqual([]);
  });

  it("removes spill files of processes that are gone, keeps its own and the living's", () => {
    const dead = 2 ** 22 + 17; // above Linux's default pid_max: no such process
    const mine = process.pid;
    for (const name of [
      `${dead}-abc-train.features`,
      `${dead}-abc-test.features`,
      `${mine}-def-train.features`,
      'notes.txt',
    ])
      writeFileSync(join(directory, name), '');
    expect(removeStaleSpills(directory)).toBe(2);
    expect(readdirSync(directory).sort()).toEqual([`${mine}-def-train.features`, 'notes.txt']);
    expect(removeStaleSpills(join(directory, 'missing'))).toBe(0);
  });
});
