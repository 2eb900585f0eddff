import { join } from 'node:path';
import type { ModelFormat } from '../contract/imports.js';
import { startThread } from '../threads.js';

export interface ExportRequest {
  readonly format: ModelFormat;
  /** A run's checkpoint bytes (contract/checkpoint.ts), transferred. */
  readonly checkpoint: Uint8Array;
  readonly labelNames: readonly string[];
}

export type ExportReply =
  | {
      readonly type: 'done';
      /** `model.onnx`, or `model.json` and `weights.bin`. */
      readonly files: Readonly<Record<string, Uint8Array>>;
    }
  | { readonly type: 'failed'; readonly message: string };

/** Converts a run's checkpoint to model files in a thread of its own (export-thread.ts). */
export async function exportInThread(request: ExportRequest): Promise<Record<string, Uint8Array>> {
  const worker = startThread(join(__dirname, 'export-thread'), {
    workerData: { filterscopeExport: true },
  });
  try {
    const reply = await new Promise<ExportReply>((resolve) => {
      worker.once('message', resolve);
      worker.once('error', (error) => resolve({ type: 'failed', message: error.message }));
      worker.once('exit', (code) =>
        resolve({ type: 'failed', message: `the export thread exited with code ${code}` }),
      );
      const buffer = request.checkpoint.buffer as ArrayBuffer;
      const whole =
        request.checkpoint.byteOffset === 0 && request.checkpoint.byteLength === buffer.byteLength;
      worker.postMessage(request, whole ? [buffer] : []);
    });
    if (reply.type === 'failed') throw new Error(`model export failed: ${reply.message}`);
    return { ...reply.files };
  } finally {
    await worker.terminate();
  }
}
