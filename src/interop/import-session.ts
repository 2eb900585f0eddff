import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { startThread } from '../threads.js';
import type { ImportJob, ThreadReply } from './import-messages.js';

/**
 * One upload's import thread, from the main thread: the files are streamed to it chunk by chunk
 * as they arrive (small copies, so the event loop never holds a whole file), then `finish`
 * waits for the parsed, checked and encoded network. The thread exits when it answers.
 */
export class ImportSession {
  private readonly worker: Worker;
  private files = 0;
  private readonly reply: Promise<ThreadReply>;

  constructor() {
    this.worker = startThread(join(__dirname, 'import-thread'), {
      workerData: { filterscopeImport: true },
    });
    this.reply = new Promise<ThreadReply>((resolve) => {
      this.worker.once('message', (message: ThreadReply) => resolve(message));
      this.worker.once('error', (error) => resolve({ type: 'failed', message: error.message }));
      this.worker.once('exit', (code) =>
        resolve({ type: 'failed', message: `the import thread exited with code ${code}` }),
      );
    });
  }

  /** Starts a file; returns its number for `chunk`. */
  open(field: string, name: string): number {
    const file = this.files++;
    this.worker.postMessage({ type: 'open', file, field, name });
    return file;
  }

  chunk(file: number, bytes: Uint8Array): void {
    this.worker.postMessage({ type: 'chunk', file, bytes });
  }

  /** Runs the import and stops the thread. */
  async finish(job: ImportJob): Promise<ThreadReply> {
    this.worker.postMessage({ type: 'finish', job });
    try {
      return await this.reply;
    } finally {
      await this.worker.terminate();
    }
  }

  /** Stops the thread without importing (the upload failed). */
  async abort(): Promise<void> {
    await this.worker.terminate();
  }
}
