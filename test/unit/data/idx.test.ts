import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadIdxSplit, parseIdx, readIdxImages, readIdxLabels } from '../../../src/data/idx.js';
import { TempDir, fileError, gzip, idxBytes, pattern } from './files.js';

describe('IDX loader', () => {
  const dir = new TempDir();
  afterAll(() => dir.remove());

  const images = pattern(5, 4, 3);
  const labels = [0, 9, 3, 3, 7];
  const imagesIdx = idxBytes([5, 4, 3], images);
  const labelsIdx = idxBytes([5], labels);

  it('reads plain and gzipped files, telling them apart by magic bytes, not by name', () => {
    // Each file carries the other's name: gzip content without .gz, plain content with .gz.
    const gzImages = dir.write('gz/images-idx3-ubyte', gzip(imagesIdx));
    const gzLabels = dir.write('gz/labels-idx1-ubyte', gzip(labelsIdx));
    const plainImages = dir.write('plain/images-idx3-ubyte.gz', imagesIdx);
    const plainLabels = dir.write('plain/labels-idx1-ubyte.gz', labelsIdx);
    for (const [i, l] of [
      [gzImages, gzLabels],
      [plainImages, plainLabels],
    ] as const) {
      const split = loadIdxSplit(i, l, 10, [4, 3]);
      expect(split.count).toBe(5);
      expect(split.images).toEqual(images);
      expect(split.images.constructor).toBe(Uint8Array);
      expect(Array.from(split.labels)).toEqual(labels);
      expect(split.labels).toBeInstanceOf(Int32Array);
    }
  });

  it('reads the image dimensions from the header', () => {
    const file = dir.write('dims-idx3-ubyte', imagesIdx);
    const read = readIdxImages(file);
    expect([read.count, read.rows, read.cols]).toEqual([5, 4, 3]);
  });

  it('rejects bad magic bytes at offset 0', () => {
    const file = dir.write('magic', idxBytes([5], labels, { magic: [0x12, 0x34] }));
    const e = fileError(() => readIdxLabels(file, 10));
    expect(e).toMatchObject({
      file,
      offset: 0,
      expected: 'the IDX magic bytes 0x00 0x00',
      found: '0x12 0x34',
    });
    expect(e.message).toBe(
      `${file}: at byte 0: expected the IDX magic bytes 0x00 0x00, found 0x12 0x34`,
    );
  });

  it('rejects a type other than unsigned byte at offset 2', () => {
    const file = dir.write('type', idxBytes([5], labels, { type: 0x0d }));
    expect(fileError(() => readIdxLabels(file, 10))).toMatchObject({
      file,
      offset: 2,
      expected: 'the IDX type code 0x08 (unsigned byte)',
      found: '0x0d',
    });
  });

  it('rejects a label file given as images (dimension count at offset 3)', () => {
    const file = dir.write('labels-as-images', labelsIdx);
    expect(fileError(() => readIdxImages(file))).toMatchObject({
      file,
      offset: 3,
      expected: '3 dimensions',
      found: '1',
    });
  });

  it('rejects a truncated image file at the offset where it ends', () => {
    const file = dir.write('truncated', imagesIdx.subarray(0, imagesIdx.length - 7));
    expect(fileError(() => readIdxImages(file))).toMatchObject({
      file,
      offset: 16 + 60 - 7,
      expected: '76 bytes (a 16-byte header + 5 x 4 x 3 values)',
      found: 'the end of the file after 69 bytes',
    });
  });

  it('reports offsets into the decompressed content of a gzipped file', () => {
    const file = dir.write('truncated.gz', gzip(imagesIdx.subarray(0, 40)));
    expect(fileError(() => readIdxImages(file))).toMatchObject({
      file,
      offset: 40,
      found: 'the end of the file after 40 bytes',
    });
  });

  it('rejects trailing bytes after the last value', () => {
    const longer = new Uint8Array(labelsIdx.length + 3);
    longer.set(labelsIdx);
    const file = dir.write('long', longer);
    expect(fileError(() => readIdxLabels(file, 10))).toMatchObject({
      file,
      offset: 13,
      expected: '13 bytes (a 8-byte header + 5 values)',
      found: '3 extra bytes (16 in all)',
    });
  });

  it('rejects a file shorter than its header', () => {
    const file = dir.write('short', imagesIdx.subarray(0, 10));
    expect(fileError(() => readIdxImages(file))).toMatchObject({
      file,
      offset: 10,
      expected: 'an IDX header of 16 bytes (3 dimensions)',
      found: 'the end of the file after 10 bytes',
    });
  });

  it('rejects a corrupt gzip stream at offset 0', () => {
    const file = dir.write('corrupt.gz', gzip(imagesIdx).subarray(0, 30));
    const e = fileError(() => readIdxImages(file));
    expect(e).toMatchObject({ file, offset: 0, expected: 'a complete gzip stream' });
    expect(e.found).toMatch(/^a gzip error/);
    expect((e.cause as Error).message).toMatch(/end of file|unexpected/i);
  });

  it('rejects images of another size than the dataset has', () => {
    const file = dir.write('size', imagesIdx);
    expect(fileError(() => readIdxImages(file, [28, 28]))).toMatchObject({
      file,
      offset: 8,
      expected: 'images of 28 x 28 pixels',
      found: '4 x 3',
    });
  });

  it('rejects a label out of range at its own byte offset', () => {
    const file = dir.write('range', idxBytes([5], [0, 1, 2, 10, 4]));
    expect(fileError(() => readIdxLabels(file, 10))).toMatchObject({
      file,
      offset: 8 + 3,
      expected: 'a label in [0, 9]',
      found: '10 (example 3)',
    });
  });

  it('rejects a label count different from the image count', () => {
    const imagesFile = dir.write('count/images', imagesIdx);
    const labelsFile = dir.write('count/labels', idxBytes([4], [0, 1, 2, 3]));
    expect(fileError(() => loadIdxSplit(imagesFile, labelsFile, 10))).toMatchObject({
      file: labelsFile,
      offset: 4,
      expected: `5 labels (the image count of ${imagesFile})`,
      found: '4',
    });
  });

  it('returns its own copy of the values, not a view of the content', () => {
    const big = new Uint8Array(100);
    big.set(labelsIdx, 50);
    const parsed = parseIdx(big.subarray(50, 50 + labelsIdx.length), 1, 'inline');
    expect(parsed.dims).toEqual([5]);
    expect(Array.from(parsed.data)).toEqual(labels);
    expect(parsed.data.byteOffset).toBe(0);
    expect(parsed.data.buffer.byteLength).toBe(5);
  });
});

const FASHION = '/usr/share/datasets/fashion-mnist';
const fashionPresent = existsSync(join(FASHION, 'train-images-idx3-ubyte.gz'));

describe("Debian's Fashion-MNIST", () => {
  (fashionPresent ? it : it.skip)(
    fashionPresent
      ? `loads 60000 training and 10000 test images with labels in [0, 9] from ${FASHION}`
      : `SKIPPED: ${FASHION} is not installed (apt install dataset-fashion-mnist)`,
    () => {
      const file = (name: string): string => join(FASHION, `${name}.gz`);
      const train = loadIdxSplit(
        file('train-images-idx3-ubyte'),
        file('train-labels-idx1-ubyte'),
        10,
        [28, 28],
      );
      const test = loadIdxSplit(
        file('t10k-images-idx3-ubyte'),
        file('t10k-labels-idx1-ubyte'),
        10,
        [28, 28],
      );
      expect(train.count).toBe(60_000);
      expect(test.count).toBe(10_000);
      expect(train.images.length).toBe(60_000 * 784);
      expect(test.images.length).toBe(10_000 * 784);
      // Fashion-MNIST is balanced: 6000 training and 1000 test images per class.
      const counts = (l: Int32Array): number[] => {
        const c = new Array<number>(10).fill(0);
        l.forEach((v) => (c[v] = (c[v] ?? 0) + 1));
        return c;
      };
      expect(counts(train.labels)).toEqual(new Array(10).fill(6000));
      expect(counts(test.labels)).toEqual(new Array(10).fill(1000));
    },
  );
});
