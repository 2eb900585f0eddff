import type { ArchitectureSpec } from '../architecture/index.js';
import type { DatasetOptions } from '../contract/datasets.js';
import type { InputSettings, ModelFormat } from '../contract/imports.js';

/** What the import thread needs besides the files: the checked request and its dataset. */
export interface ImportJob {
  /** The new architecture's name. */
  readonly name: string;
  readonly dataset: {
    readonly name: string;
    readonly options: DatasetOptions;
    /** From the catalog (and the procedural options). */
    readonly inputShape: readonly [number, number, number];
    readonly labels: number;
    /** Folders searched for dataset files (FILTERSCOPE_DATA). */
    readonly roots: readonly string[];
  };
  readonly input: InputSettings | null;
  readonly labelMapping: readonly number[] | null;
}

/** Main thread -> import thread: the files in chunks, then the job. */
export type ThreadRequest =
  | { readonly type: 'open'; readonly file: number; readonly field: string; readonly name: string }
  | { readonly type: 'chunk'; readonly file: number; readonly bytes: Uint8Array }
  | { readonly type: 'finish'; readonly job: ImportJob };

/** Import thread -> main thread: the imported network, or why not. */
export type ThreadReply =
  | {
      readonly type: 'done';
      readonly spec: ArchitectureSpec;
      /** An epoch-0 checkpoint (contract/checkpoint.ts), transferred. */
      readonly checkpoint: Uint8Array;
      readonly format: ModelFormat;
      readonly fileName: string;
      readonly sizeBytes: number;
      readonly sha256: string;
      readonly normalizationFrom: 'settings' | 'file' | 'dataset';
      /** What the import changed without changing the logits (a Softmax dropped...). */
      readonly notes: readonly string[];
    }
  | {
      /** Something the user can fix: a coded, named refusal (nothing is stored). */
      readonly type: 'refused';
      readonly code: string;
      readonly message: string;
      readonly field?: string;
      readonly node?: { readonly name: string; readonly opType: string };
      readonly supported?: readonly string[];
    }
  | { readonly type: 'failed'; readonly message: string };
