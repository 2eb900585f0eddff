import { createHash } from 'node:crypto';
import { PROCEDURAL_DEFAULTS } from '../../../src/data/catalog.js';
import {
  generateProcedural,
  PROCEDURAL_GENERATOR_VERSION,
  proceduralLabelNames,
  resolveProceduralOptions,
  storedProceduralOptions,
  type ProceduralOptions,
} from '../../../src/data/procedural.js';

/** First 16 hex digits of the SHA-256 of both splits' images. */
function fingerprint(options: ProceduralOptions): string {
  const d = generateProcedural(options);
  return createHash('sha256')
    .update(d.train.images)
    .update(d.test.images)
    .digest('hex')
    .slice(0, 16);
}

describe('procedural dataset', () => {
  it('has the catalog defaults: 32 x 32 x 3, 10 classes, 10000 + 2000 examples, in seconds', () => {
    const started = performance.now();
    const d = generateProcedural();
    const seconds = (performance.now() - started) / 1000;
    expect(d.name).toBe('procedural');
    expect(d.inputShape).toEqual([32, 32, 3]);
    expect(d.labelNames).toHaveLength(10);
    expect(d.train.count).toBe(PROCEDURAL_DEFAULTS.trainSize);
    expect(d.test.count).toBe(PROCEDURAL_DEFAULTS.testSize);
    expect(d.train.images.length).toBe(10_000 * 32 * 32 * 3);
    expect(d.test.images.length).toBe(2_000 * 32 * 32 * 3);
    // About 1.5 s on one loaded core; the bound leaves room for a busy CI machine.
    expect(seconds).toBeLessThan(6);
  });

  it('gives identical bytes for the same seed and different bytes for another seed', () => {
    const options = { imageSize: 16, labels: 6, trainSize: 60, testSize: 30, seed: 42 };
    const a = generateProcedural(options);
    const b = generateProcedural(options);
    expect(Buffer.compare(a.train.images, b.train.images)).toBe(0);
    expect(Buffer.compare(a.test.images, b.test.images)).toBe(0);
    expect(a.train.labels).toEqual(b.train.labels);
    const c = generateProcedural({ ...options, seed: 43 });
    expect(Buffer.compare(a.train.images, c.train.images)).not.toBe(0);
  });

  it('draws train and test from independent streams: no test image repeats a training one', () => {
    const d = generateProcedural({ imageSize: 16, labels: 3, trainSize: 300, testSize: 300 });
    const stride = 16 * 16 * 3;
    const seen = new Set<string>();
    for (let i = 0; i < 300; i++) {
      seen.add(Buffer.from(d.train.images.subarray(i * stride, (i + 1) * stride)).toString('hex'));
    }
    for (let i = 0; i < 300; i++) {
      const image = Buffer.from(d.test.images.subarray(i * stride, (i + 1) * stride));
      expect(seen.has(image.toString('hex'))).toBe(false);
    }
  });

  it('makes a smaller split the prefix of a larger one (example i depends on the seed and i)', () => {
    const small = generateProcedural({ imageSize: 8, trainSize: 13, testSize: 5 });
    const large = generateProcedural({ imageSize: 8, trainSize: 50, testSize: 9 });
    expect(small.train.images).toEqual(large.train.images.subarray(0, 13 * 8 * 8 * 3));
    expect(small.test.images).toEqual(large.test.images.subarray(0, 5 * 8 * 8 * 3));
  });

  it('balances the classes: labels cycle through 0 .. labels - 1', () => {
    const d = generateProcedural({ imageSize: 8, labels: 7, trainSize: 30, testSize: 0 });
    expect(Array.from(d.train.labels)).toEqual(Array.from({ length: 30 }, (_, i) => i % 7));
  });

  it('names each class by its arrangement, every class next to its mirror twin', () => {
    expect(proceduralLabelNames(3)).toEqual([
      'cross above ring',
      'ring above cross',
      'cross above triangle',
    ]);
    const names = proceduralLabelNames(100);
    expect(new Set(names).size).toBe(100);
    for (let i = 0; i < 100; i += 2) {
      const [upper, lower] = (names[i] ?? '').split(' above ');
      expect(upper).not.toBe(lower);
      expect(names[i + 1]).toBe(`${lower} above ${upper}`);
    }
  });

  it('makes grey images with one channel', () => {
    const d = generateProcedural({ imageSize: 20, channels: 1, trainSize: 4, testSize: 1 });
    expect(d.inputShape).toEqual([20, 20, 1]);
    expect(d.train.images.length).toBe(4 * 400);
  });

  it('keeps version 1 byte for byte: runs made before versions existed regenerate their data', () => {
    // Fingerprints taken from the generator before version 2 was added.
    const v1 = { generatorVersion: 1 };
    expect(
      fingerprint({ ...v1, imageSize: 16, labels: 6, trainSize: 60, testSize: 30, seed: 42 }),
    ).toBe('0fde5d54444e1425');
    expect(fingerprint({ ...v1, imageSize: 8, labels: 3, trainSize: 20, testSize: 10 })).toBe(
      '8e096a929193b386',
    );
    expect(fingerprint({ ...v1, imageSize: 32, channels: 1, trainSize: 20, testSize: 10 })).toBe(
      '5dce9f9e8fceb0d0',
    );
  });

  it('draws version 2 by default: new images below 19 px, the same as version 1 from 19 px up', () => {
    expect(PROCEDURAL_GENERATOR_VERSION).toBe(2);
    const sized = (imageSize: number) => ({ imageSize, labels: 4, trainSize: 40, testSize: 8 });
    for (const size of [8, 12, 16, 18]) {
      expect(fingerprint(sized(size))).toBe(fingerprint({ ...sized(size), generatorVersion: 2 }));
      expect(fingerprint(sized(size))).not.toBe(
        fingerprint({ ...sized(size), generatorVersion: 1 }),
      );
    }
    for (const size of [19, 32, 48]) {
      expect(fingerprint(sized(size))).toBe(fingerprint({ ...sized(size), generatorVersion: 1 }));
    }
  });

  it('places two motifs at every image size of both versions (placement retries until they fit)', () => {
    for (const generatorVersion of [1, 2]) {
      for (let imageSize = 8; imageSize <= 40; imageSize++) {
        const d = generateProcedural({ imageSize, generatorVersion, trainSize: 20, testSize: 0 });
        expect(d.train.count).toBe(20);
      }
    }
  });

  it('reads stored options without a generator version as version 1, and keeps a named one', () => {
    expect(storedProceduralOptions({ imageSize: 16 })).toEqual({
      imageSize: 16,
      generatorVersion: 1,
    });
    expect(storedProceduralOptions({ imageSize: 16, generatorVersion: 2 })).toEqual({
      imageSize: 16,
      generatorVersion: 2,
    });
  });

  it.each([
    [{ generatorVersion: 0 }, 'generatorVersion must be an integer in [1, 2], got 0'],
    [{ generatorVersion: 3 }, 'generatorVersion must be an integer in [1, 2], got 3'],
    [{ generatorVersion: 1.5 }, 'generatorVersion must be an integer in [1, 2], got 1.5'],
    [{ labels: 2 }, 'labels must be an integer in [3, 100], got 2'],
    [{ labels: 101 }, 'labels must be an integer in [3, 100], got 101'],
    [{ labels: 4.5 }, 'labels must be an integer in [3, 100], got 4.5'],
    [{ imageSize: 7 }, 'imageSize must be an integer in [8, 256], got 7'],
    [{ channels: 2 }, 'channels must be 1 or 3, got 2'],
    [{ trainSize: -1 }, 'trainSize must be an integer in [0, 10000000], got -1'],
    [{ seed: -1 }, 'seed must be an integer in [0, 4294967295], got -1'],
  ])('rejects %j', (options, message) => {
    expect(() => generateProcedural(options)).toThrow(`procedural dataset: ${message}`);
  });

  it('fills unspecified options (and undefined ones) from the defaults', () => {
    expect(resolveProceduralOptions({ labels: 4, seed: undefined })).toEqual({
      ...PROCEDURAL_DEFAULTS,
      labels: 4,
    });
  });
});
