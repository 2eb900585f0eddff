import { NetworkBuilder } from './builder.js';
import { ImportError, type SourceNode } from './errors.js';
import { applyLayer, type Json, type Layer } from './tfjs-layers.js';
import { readWeights, type ManifestGroup, type WeightFiles } from './tfjs-weights.js';
import { checkMetadata, METADATA_KEYS, type ImportedNetwork } from './types.js';

/**
 * Reads a TensorFlow.js layers model (model.json + weight files, as `model.save` or
 * tensorflowjs_converter write them) into a spec and weights. The topology is a Keras
 * `Sequential` or a functional `Model` that is one chain; see `SUPPORTED_TFJS_LAYERS`.
 * TensorFlow.js is channels-last like filterscope: weights are taken as they are.
 */

export const SUPPORTED_TFJS_LAYERS = [
  'InputLayer',
  'Conv2D',
  'BatchNormalization',
  'ReLU',
  'Activation',
  'MaxPooling2D',
  'AveragePooling2D',
  'GlobalAveragePooling2D',
  'ZeroPadding2D',
  'Flatten',
  'Dense',
  'Dropout',
] as const;

const isObject = (v: unknown): v is Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * @param modelJson the text of model.json
 * @param weights   the weight files: concatenated in manifest order, or a map path -> bytes
 */
export function readTfjsLayers(modelJson: string, weights: WeightFiles): ImportedNetwork {
  if (modelJson.trim() === '') throw new ImportError('EMPTY', 'model.json is empty');
  let json: unknown;
  try {
    json = JSON.parse(modelJson);
  } catch (error) {
    throw new ImportError('NOT_A_MODEL', `model.json is not JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (!isObject(json)) throw new ImportError('NOT_A_MODEL', 'model.json is not a JSON object');
  if (
    json.format === 'graph-model' ||
    (isObject(json.modelTopology) && 'node' in json.modelTopology)
  ) {
    throw new ImportError(
      'UNSUPPORTED_FORMAT',
      'this is a TensorFlow.js graph model (converted from a SavedModel or a frozen graph): it has no layers to read; convert the Keras model (tensorflowjs_converter --input_format keras) or export ONNX',
    );
  }
  let topology = json.modelTopology;
  if (isObject(topology) && isObject(topology.model_config)) topology = topology.model_config;
  if (!isObject(topology) || typeof topology.class_name !== 'string') {
    throw new ImportError('NOT_A_MODEL', 'model.json has no modelTopology with a class_name');
  }
  const manifest = json.weightsManifest;
  if (
    !Array.isArray(manifest) ||
    !manifest.every((g) => isObject(g) && Array.isArray(g.paths) && Array.isArray(g.weights))
  ) {
    throw new ImportError('NOT_A_MODEL', 'model.json has no weightsManifest of { paths, weights }');
  }
  const chain = layerChain(topology);
  const values = readWeights(manifest as ManifestGroup[], weights);
  const inputShape = inputShapeOf(chain);
  const builder = new NetworkBuilder(inputShape);
  const body = chain.filter((l) => l.className !== 'InputLayer');
  body.forEach((layer, i) => applyLayer(builder, layer, i === body.length - 1, values));
  const config = isObject(topology.config) ? topology.config : {};
  const { spec, weights: named } = builder.finish(
    typeof config.name === 'string' ? config.name : 'imported',
  );
  const notes = [...builder.notes];
  const meta = isObject(json.userDefinedMetadata) ? json.userDefinedMetadata : {};
  const metadata = checkMetadata(
    {
      normalization: meta[METADATA_KEYS.normalization],
      labelNames: meta[METADATA_KEYS.labelNames],
    },
    spec,
    notes,
  );
  return { format: 'tfjs', spec, weights: named, metadata, notes };
}

/** The layers in order, from a Sequential or a single-chain functional Model. */
function layerChain(topology: Json): Layer[] {
  const config = topology.config;
  const rawLayers = Array.isArray(config) ? config : isObject(config) ? config.layers : undefined;
  if (!Array.isArray(rawLayers) || rawLayers.length === 0) {
    throw new ImportError('NOT_A_MODEL', 'the topology has no layers');
  }
  const layers: Layer[] = rawLayers.map((raw: unknown) => {
    const l = isObject(raw) ? raw : {};
    const c = isObject(l.config) ? l.config : {};
    const name = typeof l.name === 'string' ? l.name : typeof c.name === 'string' ? c.name : '';
    return {
      className: String(l.class_name ?? ''),
      name,
      config: c,
      inbound: inboundOf(l.inbound_nodes),
    };
  });
  const node = (l: Layer): SourceNode => ({ name: l.name, opType: l.className });
  const cfg: Json = isObject(config) ? config : {};
  const inputs: unknown[] = Array.isArray(cfg.input_layers) ? cfg.input_layers : [];
  const inputNames = inputs.map((i) => (Array.isArray(i) ? String(i[0]) : String(i)));
  if (inputNames.length > 1) {
    const second = layers.find((l) => l.name === inputNames[1]);
    throw new ImportError(
      'SECOND_INPUT',
      `the model has ${inputNames.length} inputs (${inputNames.join(', ')}); filterscope's networks take one image batch`,
      second ? { node: node(second) } : {},
    );
  }
  for (const l of layers) {
    const tensors = l.inbound.flat();
    if (l.inbound.length > 1) {
      throw new ImportError('UNSUPPORTED_GRAPH', 'a layer used more than once (shared weights)', {
        node: node(l),
      });
    }
    if (tensors.length > 1) {
      const why =
        l.className === 'Add'
          ? 'adds two branches (a residual connection)'
          : l.className === 'Concatenate'
            ? 'concatenates branches'
            : `combines ${tensors.length} branches`;
      throw new ImportError(
        'UNSUPPORTED_GRAPH',
        `${why}; filterscope's networks are one chain of layers`,
        { node: node(l) },
      );
    }
  }
  for (const l of layers) {
    if (!(SUPPORTED_TFJS_LAYERS as readonly string[]).includes(l.className)) {
      throw new ImportError('UNSUPPORTED_OP', `layer class ${l.className} is not supported`, {
        node: node(l),
        supported: SUPPORTED_TFJS_LAYERS,
      });
    }
  }
  if (topology.class_name === 'Sequential' || layers.every((l) => l.inbound.length === 0)) {
    return layers;
  }
  // A functional model: follow the chain from its one input.
  const first =
    layers.find((l) => l.name === inputNames[0]) ??
    layers.find((l) => l.className === 'InputLayer');
  if (!first) throw new ImportError('UNSUPPORTED_INPUT', 'the model has no input layer');
  const chain = [first];
  for (let current = first; ;) {
    const [next, other] = layers.filter((l) => l.inbound.flat()[0] === current.name);
    if (!next) break;
    if (other) {
      throw new ImportError(
        'UNSUPPORTED_GRAPH',
        `the output of ${current.name} feeds more than one layer: the graph branches, and filterscope's networks are one chain`,
        { node: node(other) },
      );
    }
    chain.push(next);
    current = next;
  }
  const outputs = Array.isArray(cfg.output_layers) ? cfg.output_layers : [];
  if (outputs.length > 1 || chain.length !== layers.length) {
    throw new ImportError(
      'UNSUPPORTED_GRAPH',
      'the model has layers off its one chain from input to output (several outputs?)',
      { node: node(chain[chain.length - 1] ?? first) },
    );
  }
  return chain;
}

/** The inbound tensors' layer names per inbound node (Keras 2 lists, Keras 3 keras_history). */
function inboundOf(value: unknown): string[][] {
  if (!Array.isArray(value)) return [];
  const names = (v: unknown): string[] => {
    if (Array.isArray(v)) {
      return typeof v[0] === 'string' && typeof v[1] === 'number' ? [v[0]] : v.flatMap(names);
    }
    if (isObject(v)) {
      const history = isObject(v.config) ? v.config.keras_history : undefined;
      if (Array.isArray(history) && typeof history[0] === 'string') return [history[0]];
      return names(v.args);
    }
    return [];
  };
  return value.map((n) => names(n));
}

function inputShapeOf([first]: readonly Layer[]): [number, number, number] {
  if (!first) throw new ImportError('NOT_A_MODEL', 'the topology has no layers');
  const c = first.config;
  const shape = c.batch_input_shape ?? c.batchInputShape ?? c.batch_shape;
  const node = { name: first.name, opType: first.className };
  if (!Array.isArray(shape)) {
    throw new ImportError('UNSUPPORTED_INPUT', 'the first layer has no batch_input_shape', {
      node,
    });
  }
  if (shape.length !== 4) {
    throw new ImportError(
      'UNSUPPORTED_INPUT',
      `the input is [${shape.map((d) => d ?? 'null').join(', ')}]; filterscope takes images [batch, height, width, channels]`,
      { node },
    );
  }
  const axes = ['height', 'width', 'channels'];
  const dim = (i: number): number => {
    const d: unknown = shape[i + 1];
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 1) {
      throw new ImportError(
        'DYNAMIC_DIMENSION',
        `the input's ${axes[i]} is ${String(d)}; only the batch may be dynamic: give the model a fixed input size`,
        { node },
      );
    }
    return d;
  };
  return [dim(0), dim(1), dim(2)];
}
