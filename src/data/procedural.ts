import { PROCEDURAL_DEFAULTS } from './catalog.js';
import { Random } from './random.js';
import type { LoadedDataset, Split } from './types.js';

/**
 * The built-in procedural dataset: every image holds two motifs (cross, ring, triangle...) at
 * random positions, and its class is which motif sits above the other, e.g. `cross above ring`.
 * Classes come in twins with the same two motifs swapped (`ring above cross`), so no single
 * local patch and no bag of local features tells a class from its twin: a network must relate
 * two distant parts of the image, which takes depth (METHOD.md, "Data"). Positions, colours, a
 * texture on each motif, a background gradient and pixel noise are random, and the motif colours
 * are drawn from the same distribution as the background colour, so the mean image is nearly
 * the same for every class and a linear readout of the raw pixels stays near chance (a 4-class
 * 16 x 16 check with generator version 2: 0.27 for the linear readout, 0.97 for a 5-conv VGG;
 * test/unit/data).
 *
 * Generator versions: the same options give the same bytes under one version, forever, so a
 * stored run regenerates the data it was trained on. A run stored without `generatorVersion` was
 * made by version 1 (`storedProceduralOptions`). Version 2 changed only the motif size of images
 * under 19 pixels (see `motifSize`).
 *
 * Classes are invariant under a horizontal flip (all motifs are left-right symmetric and the
 * relation is vertical) and under small shifts, so the default crop + flip augmentation keeps
 * every label correct.
 */

/** Parameters of the procedural dataset; defaults in `PROCEDURAL_DEFAULTS` (catalog.ts). */
export interface ProceduralOptions {
  /** Height = width in pixels, 8 to 256; default 32. */
  readonly imageSize?: number;
  /** 1 (grey) or 3 (RGB); default 3. */
  readonly channels?: number;
  /** Number of classes, 3 to 100; default 10. */
  readonly labels?: number;
  /** Training examples; default 10 000. */
  readonly trainSize?: number;
  /** Test examples; default 2 000. */
  readonly testSize?: number;
  /** Unsigned 32-bit integer; default 1. */
  readonly seed?: number;
  /**
   * Which generator draws the images, 1 to `PROCEDURAL_GENERATOR_VERSION`; default the latest
   * (2). Version 1 is kept so that runs made with it keep their data.
   */
  readonly generatorVersion?: number;
}

/** The latest generator version: what a new run gets and records. */
export const PROCEDURAL_GENERATOR_VERSION: number = PROCEDURAL_DEFAULTS.generatorVersion;

export const PROCEDURAL_MIN_LABELS = 3;
export const PROCEDURAL_MAX_LABELS = 100;
export const PROCEDURAL_MIN_SIZE = 8;
export const PROCEDURAL_MAX_SIZE = 256;

/** A motif: a left-right symmetric shape on u (right), v (down), both in [-1, 1]. */
interface Motif {
  readonly name: string;
  readonly inside: (u: number, v: number) => boolean;
}

// Module-scope aliases: in a vm context (jest) every lookup of the global `Math` costs ~0.7 us,
// which made the per-pixel loops below 60x slower there than in production.
const { abs, imul, max, sqrt } = Math;

const radius = (u: number, v: number): number => sqrt(u * u + v * v);

/**
 * The motifs, most distinct first: the first m of them make m(m-1) classes. Eleven motifs give
 * 110 ordered pairs, enough for 100 classes.
 */
const MOTIFS: readonly Motif[] = [
  { name: 'cross', inside: (u, v) => abs(u) < 0.34 || abs(v) < 0.34 },
  { name: 'ring', inside: (u, v) => radius(u, v) >= 0.5 && radius(u, v) <= 1 },
  { name: 'triangle', inside: (u, v) => abs(u) <= (v + 1) / 2 },
  { name: 'x', inside: (u, v) => abs(u - v) < 0.45 || abs(u + v) < 0.45 },
  { name: 'square', inside: (u, v) => max(abs(u), abs(v)) >= 0.5 },
  { name: 'disc', inside: (u, v) => radius(u, v) <= 0.8 },
  { name: 'diamond', inside: (u, v) => abs(u) + abs(v) <= 1 },
  { name: 'h', inside: (u, v) => abs(u) >= 0.5 || abs(v) <= 0.25 },
  { name: 'tee', inside: (u, v) => v <= -0.4 || abs(u) <= 0.3 },
  { name: 'bars', inside: (_u, v) => abs(v) >= 0.35 },
  {
    name: 'dots',
    inside: (u, v) => radius(abs(u) - 0.5, abs(v) - 0.5) <= 0.42,
  },
];

/** The (upper, lower) motif indices of each class, in label order. */
function classPairs(labels: number): [number, number][] {
  const pairs: [number, number][] = [];
  for (let m = 1; pairs.length < labels; m++) {
    for (let a = 0; a < m && pairs.length < labels; a++) {
      pairs.push([a, m]);
      if (pairs.length < labels) pairs.push([m, a]);
    }
  }
  return pairs;
}

/** Names of the procedural classes, e.g. `cross above ring`, for `labels` in [3, 100]. */
export function proceduralLabelNames(labels: number): string[] {
  checkInt('labels', labels, PROCEDURAL_MIN_LABELS, PROCEDURAL_MAX_LABELS);
  return classPairs(labels).map(
    ([a, b]) => `${MOTIFS[a]?.name ?? '?'} above ${MOTIFS[b]?.name ?? '?'}`,
  );
}

function checkInt(field: string, value: number, lo: number, hi: number): void {
  if (!Number.isInteger(value) || value < lo || value > hi) {
    throw new RangeError(
      `procedural dataset: ${field} must be an integer in [${lo}, ${hi}], got ${value}`,
    );
  }
}

/** Resolves the options against `PROCEDURAL_DEFAULTS` and checks them. */
export function resolveProceduralOptions(
  options: ProceduralOptions = {},
): Required<ProceduralOptions> {
  const resolved = { ...PROCEDURAL_DEFAULTS, ...stripUndefined(options) };
  checkInt('imageSize', resolved.imageSize, PROCEDURAL_MIN_SIZE, PROCEDURAL_MAX_SIZE);
  if (resolved.channels !== 1 && resolved.channels !== 3) {
    throw new RangeError(`procedural dataset: channels must be 1 or 3, got ${resolved.channels}`);
  }
  checkInt('labels', resolved.labels, PROCEDURAL_MIN_LABELS, PROCEDURAL_MAX_LABELS);
  checkInt('trainSize', resolved.trainSize, 0, 10_000_000);
  checkInt('testSize', resolved.testSize, 0, 10_000_000);
  checkInt('seed', resolved.seed, 0, 0xffffffff);
  checkInt('generatorVersion', resolved.generatorVersion, 1, PROCEDURAL_GENERATOR_VERSION);
  return resolved;
}

/**
 * The options a stored run or job was made with, as the generator must read them: options
 * stored before generator versions existed (no `generatorVersion`) were made by version 1.
 * Options that name a version keep it.
 */
export function storedProceduralOptions(stored: Readonly<ProceduralOptions>): ProceduralOptions {
  return { ...stored, generatorVersion: stored.generatorVersion ?? 1 };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Generates the procedural dataset: images [count, imageSize, imageSize, channels] as bytes,
 * channels last. Example i of a split depends only on (seed, split, i), so the same seed gives
 * identical bytes, a smaller split is a prefix of a larger one, and the train and test splits come
 * from independent streams. Labels cycle through 0 .. labels-1 (every split is balanced to within
 * one example); shuffle before batching.
 */
export function generateProcedural(options: ProceduralOptions = {}): LoadedDataset {
  const o = resolveProceduralOptions(options);
  const renderer = new Renderer(
    o.imageSize,
    o.channels,
    classPairs(o.labels),
    motifSize(o.imageSize, o.generatorVersion),
  );
  return {
    name: 'procedural',
    inputShape: [o.imageSize, o.imageSize, o.channels],
    labelNames: proceduralLabelNames(o.labels),
    train: renderer.split(o.seed, TRAIN_STREAM, o.trainSize),
    test: renderer.split(o.seed, TEST_STREAM, o.testSize),
  };
}

const TRAIN_STREAM = 1;
const TEST_STREAM = 2;

/** murmur3's 32-bit finaliser: a bijective, well-mixing hash. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Uniform [0, 1) draws for pixel noise (mulberry32, as `Random`), thousands per image: a closure
 * over module-scope `imul` stays fast in every context (see the aliases above).
 */
function noiseStream(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = imul(t ^ (t >>> 15), t | 1);
    t ^= t + imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function exampleSeed(seed: number, stream: number, index: number): number {
  let h = fmix32(seed ^ 0x5bd1e995);
  h = fmix32((h + imul(stream, 0x9e3779b1)) >>> 0);
  return fmix32((h ^ index) >>> 0);
}

/** Minimum L-infinity distance (0-255) between a motif's colour and the background colour. */
const MIN_CONTRAST = 70;
/** Peak-to-peak amplitude of the per-pixel noise, in 0-255 units. */
const NOISE = 36;
/** Amplitude of a motif's texture (stripes or checks), in 0-255 units. */
const TEXTURE = 24;
/** Largest change of the background gradient across the image, in 0-255 units. */
const GRADIENT = 60;
/** Supersampling per axis when rasterising motifs (anti-aliasing). */
const SUPERSAMPLE = 4;
/** Smallest motif side of generator version 2, in pixels, where the image leaves room for it. */
const MIN_MOTIF = 6;

/**
 * Motif side in pixels before jitter: 30 % of the image side (5 px at 16, 10 px at 32), at least
 * 3 px in version 1. Version 2 raises it to 6 px, or half the side when that is less (two
 * motifs must fit one above the other): at 16 x 16, version 1's 5-px cross, ring and triangle
 * were too coarse for SGD at the default learning rate to start telling them apart; the
 * classifier's first, noisy steps switched off the last conv layer's ReLUs instead, and training
 * stayed at chance (README, "Training (phase 1)"). From 19 px up both versions give 6 px or
 * more and identical images.
 */
function motifSize(imageSize: number, version: number): number {
  const fraction = Math.round(imageSize * 0.3);
  if (version === 1) return Math.max(3, fraction);
  return Math.max(fraction, Math.min(MIN_MOTIF, Math.floor(imageSize / 2)));
}

class Renderer {
  private readonly masks = new Map<string, Float32Array>();
  private readonly pixel: Float32Array;

  constructor(
    private readonly size: number,
    private readonly channels: number,
    private readonly pairs: readonly (readonly [number, number])[],
    /** Motif side in pixels before jitter (`motifSize`). */
    private readonly baseSize: number,
  ) {
    this.pixel = new Float32Array(size * size * channels);
  }

  split(seed: number, stream: number, count: number): Split {
    const stride = this.size * this.size * this.channels;
    const images = new Uint8Array(count * stride);
    const labels = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      const label = i % this.pairs.length;
      labels[i] = label;
      this.render(new Random(exampleSeed(seed, stream, i)), label, images, i * stride);
    }
    return { images, labels, count };
  }

  /** Coverage in [0, 1] of a motif rasterised at s x s pixels, row major. */
  private mask(motif: number, s: number): Float32Array {
    const key = `${motif}:${s}`;
    const cached = this.masks.get(key);
    if (cached) return cached;
    const inside = MOTIFS[motif]?.inside ?? (() => false);
    const mask = new Float32Array(s * s);
    const n = SUPERSAMPLE;
    for (let y = 0; y < s; y++) {
      for (let x = 0; x < s; x++) {
        let hits = 0;
        for (let sy = 0; sy < n; sy++) {
          for (let sx = 0; sx < n; sx++) {
            const u = ((x + (sx + 0.5) / n) / s) * 2 - 1;
            const v = ((y + (sy + 0.5) / n) / s) * 2 - 1;
            if (inside(u, v)) hits++;
          }
        }
        mask[y * s + x] = hits / (n * n);
      }
    }
    this.masks.set(key, mask);
    return mask;
  }

  private colour(rng: Random): number[] {
    return Array.from({ length: this.channels }, () => rng.uniform(0, 256));
  }

  /** A uniform colour, redrawn until some channel differs from `from` by MIN_CONTRAST or more. */
  private contrasting(rng: Random, from: readonly number[]): number[] {
    for (;;) {
      const c = this.colour(rng);
      if (c.some((v, k) => abs(v - (from[k] ?? 0)) >= MIN_CONTRAST)) return c;
    }
  }

  private render(rng: Random, label: number, out: Uint8Array, offset: number): void {
    const { size: n, channels: ch, pixel } = this;
    const [upper, lower] = this.pairs[label] ?? [0, 1];
    const noise = noiseStream(rng.int(0x100000000));

    // Background: colour + linear gradient + noise.
    const bg = this.colour(rng);
    const gx = rng.uniform(-GRADIENT, GRADIENT) / n;
    const gy = rng.uniform(-GRADIENT, GRADIENT) / n;
    const half = (n - 1) / 2;
    for (let y = 0; y < n; y++) {
      for (let x = 0; x < n; x++) {
        const shade = gx * (x - half) + gy * (y - half);
        const base = (y * n + x) * ch;
        for (let k = 0; k < ch; k++) {
          pixel[base + k] = (bg[k] ?? 0) + shade + NOISE * (noise() - 0.5);
        }
      }
    }

    // Two motifs, boxes disjoint, centres at least half a motif apart vertically; the higher box
    // gets the upper motif. Sizes vary by a pixel from 8 px up (a 4-px motif loses its shape).
    const jitter = this.baseSize >= 8 ? 1 : 0;
    const sa = this.baseSize + rng.int(2 * jitter + 1) - jitter;
    const sb = this.baseSize + rng.int(2 * jitter + 1) - jitter;
    let ya = 0;
    let xa = 0;
    let yb = 0;
    let xb = 0;
    for (;;) {
      ya = rng.int(n - sa + 1);
      xa = rng.int(n - sa + 1);
      yb = rng.int(n - sb + 1);
      xb = rng.int(n - sb + 1);
      const dy = abs(ya + sa / 2 - (yb + sb / 2));
      const apart = ya + sa <= yb || yb + sb <= ya || xa + sa <= xb || xb + sb <= xa;
      if (apart && dy >= max(sa, sb) / 2) break;
    }
    const aIsUpper = ya + sa / 2 < yb + sb / 2;
    this.stamp(rng, noise, aIsUpper ? upper : lower, sa, ya, xa, bg);
    this.stamp(rng, noise, aIsUpper ? lower : upper, sb, yb, xb, bg);

    for (let i = 0; i < pixel.length; i++) {
      const v = pixel[i] ?? 0;
      out[offset + i] = v <= 0 ? 0 : v >= 255 ? 255 : (v + 0.5) | 0;
    }
  }

  /** Blends motif `motif` (s x s, top-left at y0, x0) into the pixel buffer with a texture. */
  private stamp(
    rng: Random,
    noise: () => number,
    motif: number,
    s: number,
    y0: number,
    x0: number,
    bg: readonly number[],
  ): void {
    const { size: n, channels: ch, pixel } = this;
    const mask = this.mask(motif, s);
    const fg = this.contrasting(rng, bg);
    // 0: plain, 1: horizontal stripes, 2: vertical stripes, 3: checks; period 2 or 3 pixels.
    const texture = rng.int(4);
    const period = 2 + rng.int(2);
    const amplitude = TEXTURE * (rng.next() < 0.5 ? -1 : 1);
    for (let y = 0; y < s; y++) {
      for (let x = 0; x < s; x++) {
        const alpha = mask[y * s + x] ?? 0;
        if (alpha === 0) continue;
        const band =
          texture === 1
            ? (y / period) | 0
            : texture === 2
              ? (x / period) | 0
              : texture === 3
                ? ((y / period) | 0) + ((x / period) | 0)
                : 0;
        const tex = texture === 0 ? 0 : band % 2 === 0 ? amplitude : -amplitude;
        const base = ((y0 + y) * n + x0 + x) * ch;
        for (let k = 0; k < ch; k++) {
          const value = (fg[k] ?? 0) + tex + NOISE * (noise() - 0.5);
          const old = pixel[base + k] ?? 0;
          pixel[base + k] = old + alpha * (value - old);
        }
      }
    }
  }
}
