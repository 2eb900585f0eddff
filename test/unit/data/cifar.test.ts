import {
  CIFAR100_COARSE_LABELS,
  cifarLabelCount,
  cifarRecordSize,
  loadCifarSplit,
  readCifarFile,
} from '../../../src/data/cifar.js';
import { TempDir, cifarBytes, fileError, pattern } from './files.js';

describe('CIFAR loader', () => {
  const dir = new TempDir();
  afterAll(() => dir.remove());

  // Channels-last source images; the files hold them as R, G, B planes.
  const images = pattern(3, 32, 32, 3);

  it('turns the R, G, B planes of CIFAR-10 records into channels-last images', () => {
    const content = cifarBytes(images, [[6], [9], [0]]);
    expect(content.length).toBe(3 * 3073);
    // The red plane comes first: record 0's byte 1 + 5 is the red value of pixel (0, 5).
    expect(content[1 + 5]).toBe(images[5 * 3]);
    expect(content[1 + 1024 + 5]).toBe(images[5 * 3 + 1]);
    const file = dir.write('cifar-10/data_batch_1.bin', content);
    const split = readCifarFile(file, { variant: 'cifar-10' });
    expect(split.count).toBe(3);
    expect(Array.from(split.labels)).toEqual([6, 9, 0]);
    expect(split.images).toEqual(images);
  });

  it('keeps the fine CIFAR-100 label by default and the coarse one on request', () => {
    const content = cifarBytes(images, [
      [3, 99],
      [19, 0],
      [0, 42],
    ]);
    const file = dir.write('cifar-100/train.bin', content);
    const fine = readCifarFile(file, { variant: 'cifar-100' });
    const coarse = readCifarFile(file, { variant: 'cifar-100', labels: 'coarse' });
    expect(Array.from(fine.labels)).toEqual([99, 0, 42]);
    expect(Array.from(coarse.labels)).toEqual([3, 19, 0]);
    expect(fine.images).toEqual(images);
    expect(coarse.images).toEqual(images);
    expect(cifarLabelCount({ variant: 'cifar-100' })).toBe(100);
    expect(cifarLabelCount({ variant: 'cifar-100', labels: 'coarse' })).toBe(20);
    expect(CIFAR100_COARSE_LABELS).toHaveLength(20);
  });

  it('concatenates batch files in the order given', () => {
    const one = pattern(2, 32, 32, 3);
    const two = pattern(3, 32, 32, 3).map((v) => 255 - v);
    const a = dir.write('concat/data_batch_1.bin', cifarBytes(one, [[1], [2]]));
    const b = dir.write('concat/data_batch_2.bin', cifarBytes(two, [[3], [4], [5]]));
    const split = loadCifarSplit([a, b], { variant: 'cifar-10' });
    expect(split.count).toBe(5);
    expect(Array.from(split.labels)).toEqual([1, 2, 3, 4, 5]);
    expect(split.images.subarray(0, one.length)).toEqual(one);
    expect(split.images.subarray(one.length)).toEqual(two);
  });

  it('rejects a truncated record, naming where it starts and the record size', () => {
    const content = cifarBytes(images, [[1], [2], [3]]);
    const file = dir.write('truncated.bin', content.subarray(0, 2 * 3073 + 100));
    expect(fileError(() => readCifarFile(file, { variant: 'cifar-10' }))).toMatchObject({
      file,
      offset: 2 * 3073,
      expected: 'a complete 3073-byte record (the file length must be a multiple of 3073)',
      found: 'a truncated record of 100 bytes',
    });
  });

  it('rejects a CIFAR-10 file read as CIFAR-100 when the lengths disagree', () => {
    const file = dir.write('wrong-variant.bin', cifarBytes(images, [[1], [2], [3]]));
    expect(cifarRecordSize('cifar-100')).toBe(3074);
    expect(fileError(() => readCifarFile(file, { variant: 'cifar-100' }))).toMatchObject({
      file,
      offset: 2 * 3074,
      found: 'a truncated record of 3071 bytes', // 3 x 3073 - 2 x 3074
    });
  });

  it('rejects an empty file', () => {
    const file = dir.write('empty.bin', new Uint8Array(0));
    expect(fileError(() => readCifarFile(file, { variant: 'cifar-10' }))).toMatchObject({
      file,
      offset: 0,
      expected: 'at least one 3073-byte record',
      found: 'an empty file',
    });
  });

  it('rejects a CIFAR-10 label out of range at its byte offset', () => {
    const file = dir.write('label10.bin', cifarBytes(images, [[1], [10], [3]]));
    expect(fileError(() => readCifarFile(file, { variant: 'cifar-10' }))).toMatchObject({
      file,
      offset: 3073,
      expected: 'a label in [0, 9]',
      found: '10 (record 1)',
    });
  });

  it('checks both CIFAR-100 labels, whichever is kept', () => {
    const badFine = dir.write(
      'fine100.bin',
      cifarBytes(images, [
        [1, 1],
        [1, 1],
        [2, 100],
      ]),
    );
    expect(
      fileError(() => readCifarFile(badFine, { variant: 'cifar-100', labels: 'coarse' })),
    ).toMatchObject({
      file: badFine,
      offset: 2 * 3074 + 1,
      expected: 'a fine label in [0, 99]',
      found: '100 (record 2)',
    });
    const badCoarse = dir.write('coarse20.bin', cifarBytes(images, [[20, 5]]));
    expect(fileError(() => readCifarFile(badCoarse, { variant: 'cifar-100' }))).toMatchObject({
      file: badCoarse,
      offset: 0,
      expected: 'a coarse label in [0, 19]',
      found: '20 (record 0)',
    });
  });
});
