import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CATALOG, dataRoots } from '../../../src/data/catalog.js';
import { CIFAR100_COARSE_LABELS } from '../../../src/data/cifar.js';
import { DatasetFileError } from '../../../src/data/idx.js';
import { DatasetUnavailableError, loadDataset } from '../../../src/data/load.js';
import { generateProcedural } from '../../../src/data/procedural.js';
import { TempDir, cifarBytes, gzip, idxBytes, pattern } from './files.js';

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error, nothing was thrown');
}

describe('loadDataset', () => {
  const root = new TempDir();
  const empty = new TempDir();
  afterAll(() => {
    root.remove();
    empty.remove();
  });

  // A tiny MNIST under <root>/mnist: 6 training and 4 test images of 28 x 28, gzipped.
  const mnistTrain = pattern(6, 28, 28);
  const mnistTest = pattern(4, 28, 28).map((v) => v ^ 0xff);
  root.write('mnist/train-images-idx3-ubyte.gz', gzip(idxBytes([6, 28, 28], mnistTrain)));
  root.write('mnist/train-labels-idx1-ubyte.gz', gzip(idxBytes([6], [5, 0, 4, 1, 9, 2])));
  root.write('mnist/t10k-images-idx3-ubyte', idxBytes([4, 28, 28], mnistTest));
  root.write('mnist/t10k-labels-idx1-ubyte', idxBytes([4], [7, 2, 1, 0]));

  // A tiny CIFAR-10: 2 images per training batch, 3 test images.
  const batches = [1, 2, 3, 4, 5].map((b) => pattern(2, 32, 32, 3).map((v) => (v + b) & 255));
  batches.forEach((images, i) =>
    root.write(`cifar-10-batches-bin/data_batch_${i + 1}.bin`, cifarBytes(images, [[i], [i + 5]])),
  );
  const cifarTest = pattern(3, 32, 32, 3);
  root.write('cifar-10-batches-bin/test_batch.bin', cifarBytes(cifarTest, [[0], [1], [2]]));

  // A tiny CIFAR-100 (fine and coarse labels).
  root.write(
    'cifar-100-binary/train.bin',
    cifarBytes(pattern(2, 32, 32, 3), [
      [4, 30],
      [19, 99],
    ]),
  );
  root.write('cifar-100-binary/test.bin', cifarBytes(pattern(1, 32, 32, 3), [[0, 1]]));

  it('loads an IDX dataset from gzipped and plain files, with catalog shape and names', () => {
    const mnist = loadDataset('mnist', { roots: [empty.path, root.path] });
    expect(mnist.name).toBe('mnist');
    expect(mnist.inputShape).toEqual([28, 28, 1]);
    expect(mnist.labelNames).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(mnist.train.count).toBe(6);
    expect(mnist.train.images).toEqual(mnistTrain);
    expect(Array.from(mnist.train.labels)).toEqual([5, 0, 4, 1, 9, 2]);
    expect(mnist.test.images).toEqual(mnistTest);
    expect(Array.from(mnist.test.labels)).toEqual([7, 2, 1, 0]);
  });

  it('keeps the first maxTrain and maxTest examples', () => {
    const mnist = loadDataset('mnist', { roots: [root.path], maxTrain: 2, maxTest: 3 });
    expect(mnist.train.count).toBe(2);
    expect(mnist.train.images).toEqual(mnistTrain.subarray(0, 2 * 784));
    expect(Array.from(mnist.train.labels)).toEqual([5, 0]);
    expect(mnist.test.count).toBe(3);
    expect(Array.from(mnist.test.labels)).toEqual([7, 2, 1]);
    const all = loadDataset('mnist', { roots: [root.path], maxTrain: 100 });
    expect(all.train.count).toBe(6);
  });

  it('loads CIFAR-10 training batches 1 to 5 in order, then the test batch', () => {
    const cifar = loadDataset('cifar-10', { roots: [root.path] });
    expect(cifar.inputShape).toEqual([32, 32, 3]);
    expect(cifar.labelNames[0]).toBe('airplane');
    expect(cifar.train.count).toBe(10);
    expect(Array.from(cifar.train.labels)).toEqual([0, 5, 1, 6, 2, 7, 3, 8, 4, 9]);
    batches.forEach((images, i) =>
      expect(cifar.train.images.subarray(i * 2 * 3072, (i + 1) * 2 * 3072)).toEqual(images),
    );
    expect(cifar.test.images).toEqual(cifarTest);
    const capped = loadDataset('cifar-10', { roots: [root.path], maxTrain: 3, maxTest: 1 });
    expect(Array.from(capped.train.labels)).toEqual([0, 5, 1]);
    expect(capped.train.images.length).toBe(3 * 3072);
    expect(capped.test.count).toBe(1);
  });

  it('loads CIFAR-100 with fine labels by default and coarse labels on request', () => {
    const fine = loadDataset('cifar-100', { roots: [root.path] });
    expect(Array.from(fine.train.labels)).toEqual([30, 99]);
    expect(fine.labelNames).toHaveLength(100);
    const coarse = loadDataset('cifar-100', { roots: [root.path], cifar100Labels: 'coarse' });
    expect(Array.from(coarse.train.labels)).toEqual([4, 19]);
    expect(coarse.labelNames).toEqual(CIFAR100_COARSE_LABELS);
  });

  it('names the missing files and every folder searched when a dataset is absent', () => {
    const error = thrown(() => loadDataset('fashion-mnist', { roots: [empty.path, root.path] }));
    expect(error).toBeInstanceOf(DatasetUnavailableError);
    const e = error as DatasetUnavailableError;
    const folders = CATALOG.find((d) => d.name === 'fashion-mnist')?.folders ?? [];
    const searched = [empty.path, root.path].flatMap((r) => folders.map((f) => join(r, f)));
    expect(e.dataset).toBe('fashion-mnist');
    expect(e.searched).toEqual(searched);
    expect(e.missingFiles).toEqual([
      'train-images-idx3-ubyte',
      'train-labels-idx1-ubyte',
      't10k-images-idx3-ubyte',
      't10k-labels-idx1-ubyte',
    ]);
    for (const part of [...e.missingFiles, ...searched]) expect(e.message).toContain(part);
  });

  it('names only the files still missing when a folder is incomplete', () => {
    const partial = new TempDir();
    try {
      partial.write('cifar-100/train.bin', cifarBytes(pattern(1, 32, 32, 3), [[0, 0]]));
      const e = thrown(() => loadDataset('cifar-100', { roots: [partial.path] }));
      expect(e).toBeInstanceOf(DatasetUnavailableError);
      expect((e as DatasetUnavailableError).missingFiles).toEqual(['test.bin']);
      expect((e as Error).message).toContain(join(partial.path, 'cifar-100'));
    } finally {
      partial.remove();
    }
  });

  it('rejects an unknown dataset name, listing the known ones', () => {
    const e = thrown(() => loadDataset('imagenet', { roots: [root.path] }));
    expect(e).toBeInstanceOf(DatasetUnavailableError);
    expect((e as Error).message).toBe(
      `unknown dataset "imagenet"; known: ${CATALOG.map((d) => d.name).join(', ')}`,
    );
  });

  it('passes a corrupt file on as a DatasetFileError', () => {
    const bad = new TempDir();
    try {
      bad.write('cifar-100/train.bin', new Uint8Array(3074 + 5));
      bad.write('cifar-100/test.bin', cifarBytes(pattern(1, 32, 32, 3), [[0, 0]]));
      const e = thrown(() => loadDataset('cifar-100', { roots: [bad.path] }));
      expect(e).toBeInstanceOf(DatasetFileError);
      expect(e).toMatchObject({ file: join(bad.path, 'cifar-100/train.bin'), offset: 3074 });
    } finally {
      bad.remove();
    }
  });

  it('generates the procedural dataset, capping by generating fewer examples', () => {
    const procedural = { imageSize: 12, labels: 5, trainSize: 40, testSize: 20, seed: 3 };
    const full = generateProcedural(procedural);
    const capped = loadDataset('procedural', { roots: [], procedural, maxTrain: 7, maxTest: 30 });
    expect(capped.inputShape).toEqual([12, 12, 3]);
    expect(capped.labelNames).toEqual(full.labelNames);
    expect(capped.train.count).toBe(7);
    expect(capped.train.images).toEqual(full.train.images.subarray(0, 7 * 12 * 12 * 3));
    expect(capped.train.labels).toEqual(full.train.labels.subarray(0, 7));
    expect(capped.test.count).toBe(20);
    expect(capped.test.images).toEqual(full.test.images);
  });

  it('rejects a negative or fractional cap', () => {
    expect(() => loadDataset('procedural', { roots: [], maxTrain: -1 })).toThrow(
      'maxTrain must be a non-negative integer, got -1',
    );
    expect(() => loadDataset('procedural', { roots: [], maxTest: 2.5 })).toThrow(
      'maxTest must be a non-negative integer, got 2.5',
    );
  });

  const fashion = existsSync('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz');
  (fashion ? it : it.skip)(
    fashion
      ? "finds Debian's Fashion-MNIST under the default data roots"
      : 'SKIPPED: /usr/share/datasets/fashion-mnist is not installed (apt install dataset-fashion-mnist)',
    () => {
      const d = loadDataset('fashion-mnist', { roots: dataRoots(undefined), maxTrain: 100 });
      expect(d.inputShape).toEqual([28, 28, 1]);
      expect(d.labelNames[9]).toBe('Ankle boot');
      expect(d.train.count).toBe(100);
      expect(d.train.images.length).toBe(100 * 784);
      expect(d.test.count).toBe(10_000);
    },
  );
});
