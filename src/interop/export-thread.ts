import { parentPort, workerData } from 'node:worker_threads';
import { decodeCheckpoint } from '../contract/checkpoint.js';
import type { ExportReply, ExportRequest } from './export-session.js';
import { writeOnnx, writeTfjsLayers } from './index.js';

/**
 * The export thread (started by export-session.ts): a run's checkpoint as an ONNX file or as
 * TensorFlow.js layers files, with its input standardisation and label names recorded, off the
 * API's event loop. One request, one answer, then the thread ends.
 */
function serve(port: NonNullable<typeof parentPort>): void {
  port.once('message', (request: ExportRequest) => {
    let reply: ExportReply;
    try {
      const { meta, weights } = decodeCheckpoint(request.checkpoint);
      const metadata = { normalization: meta.normalization, labelNames: request.labelNames };
      if (request.format === 'onnx') {
        const bytes = writeOnnx(meta.architecture, weights, metadata);
        reply = { type: 'done', files: { 'model.onnx': bytes } };
      } else {
        const { modelJson, weightData } = writeTfjsLayers(meta.architecture, weights, metadata);
        reply = {
          type: 'done',
          files: {
            'model.json': new TextEncoder().encode(JSON.stringify(modelJson)),
            'weights.bin': weightData,
          },
        };
      }
    } catch (error) {
      reply = { type: 'failed', message: (error as Error).message };
    }
    port.postMessage(
      reply,
      reply.type === 'done' ? Object.values(reply.files).map((b) => b.buffer as ArrayBuffer) : [],
    );
  });
}

if (parentPort && (workerData as { filterscopeExport?: unknown } | null)?.filterscopeExport)
  serve(parentPort);
