import type { IncomingMessage, ServerResponse } from 'node:http';
import busboy from 'busboy';
import { GraphQLError } from 'graphql';
import type { Services } from '../api/context.js';
import type { PreparedImport } from '../api/import/import.service.js';
import { ImportSession } from '../interop/import-session.js';
import type { Logger } from '../log.js';
import type { Principal } from './access.js';
import type { OperationGuard } from './guard.js';
import { sendJson } from './http.js';

/** The upload route: `POST /import`, multipart/form-data. */
export const IMPORT_PATH = '/import';

/** A refusal of the upload, answered as `{ errors: [{ message, extensions }] }`. */
class Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extensions: Record<string, unknown>,
  ) {
    super(message);
  }
}

const STATUS_OF_CODE: Readonly<Record<string, number>> = {
  BAD_USER_INPUT: 400,
  BAD_REQUEST: 400,
  CONFLICT: 409,
  RATE_LIMITED: 429,
  FORBIDDEN: 403,
};

/**
 * Imports a network trained elsewhere (see README "Bring your own network"). The parts, in this
 * order: `input` (a JSON field: name, dataset, optional datasetOptions, input settings,
 * labelMapping, maxTestExamples), `model` (the .onnx file, or model.json), then `weights` (each
 * weight file of a TensorFlow.js model, under its manifest name). The request is checked before
 * any file is read; the files stream to an import thread as they arrive, counted against
 * `maxUploadBytes`; the network is parsed, checked against the dataset and encoded off the
 * event loop. A file that cannot be imported is refused here, with nothing stored; the answer
 * to a good one is its run (IMPORTED, QUEUED: an evaluate job measures its test SR) and its
 * architecture.
 */
export async function serveImport(
  req: IncomingMessage,
  res: ServerResponse,
  principal: Principal,
  deps: {
    readonly services: Services;
    readonly guard: OperationGuard;
    readonly maxUploadBytes: number;
    readonly log: Logger;
  },
): Promise<void> {
  let session: ImportSession | null = null;
  try {
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      throw new Refusal(405, `${IMPORT_PATH} takes POST (multipart/form-data)`, {
        code: 'BAD_REQUEST',
      });
    }
    if (principal.role !== 'write')
      throw new Refusal(
        403,
        `the key ${principal.name} is read-only: importing needs a write key`,
        {
          code: 'FORBIDDEN',
        },
      );
    const type = String(req.headers['content-type'] ?? '');
    if (!/^multipart\/form-data\b/i.test(type))
      throw new Refusal(
        415,
        `send the upload as multipart/form-data (parts: input, model, weights), got ${type ? JSON.stringify(type) : 'no content-type'}`,
        { code: 'BAD_REQUEST' },
      );
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > deps.maxUploadBytes + 1_000_000) throw tooLarge(deps.maxUploadBytes);
    deps.guard.checkLaunches(principal, 1);
    session = new ImportSession();
    const prepared = await receive(req, session, principal, deps);
    const reply = await session.finish(prepared.job);
    session = null;
    if (reply.type === 'refused')
      throw new Refusal(400, `${reply.field ?? 'model'}: ${reply.message}`, {
        code: 'BAD_USER_INPUT',
        field: reply.field ?? 'model',
        reason: reply.code,
        ...(reply.node ? { node: reply.node } : {}),
        ...(reply.supported ? { supported: reply.supported } : {}),
      });
    if (reply.type === 'failed') throw new Error(`the import thread failed: ${reply.message}`);
    const { run, architecture } = await deps.services.imports.save(prepared, reply, principal.name);
    sendJson(res, 200, {
      data: {
        run: { id: run.id, status: run.status, origin: run.origin },
        architecture: {
          id: architecture.id,
          name: architecture.name,
          parameterCount: architecture.parameterCount,
        },
      },
    });
  } catch (error) {
    await session?.abort();
    // The rest of the body is not read: close the connection after the answer.
    if (!req.complete) res.setHeader('connection', 'close');
    req.resume();
    if (error instanceof Refusal)
      return sendJson(res, error.status, {
        errors: [{ message: error.message, extensions: error.extensions }],
      });
    if (error instanceof GraphQLError) {
      const { http: _http, ...extensions } = error.extensions ?? {};
      const code = String(extensions.code ?? 'INTERNAL_SERVER_ERROR');
      return sendJson(res, STATUS_OF_CODE[code] ?? 500, {
        errors: [{ message: error.message, extensions }],
      });
    }
    deps.log.error('import failed', { error });
    sendJson(res, 500, {
      errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }],
    });
  }
}

const tooLarge = (limit: number) =>
  new Refusal(413, `the upload is over ${limit} bytes (FILTERSCOPE_MAX_UPLOAD_BYTES)`, {
    code: 'BAD_REQUEST',
    limit,
  });

/**
 * Reads the multipart body: the `input` field is checked as soon as it arrives (before any
 * file, which must come after it), files stream to the session chunk by chunk.
 */
function receive(
  req: IncomingMessage,
  session: ImportSession,
  principal: Principal,
  deps: { readonly services: Services; readonly maxUploadBytes: number },
): Promise<PreparedImport> {
  return new Promise<PreparedImport>((resolve, reject) => {
    let prepared: Promise<PreparedImport> | null = null;
    let total = 0;
    let failed = false;
    const fail = (error: unknown): void => {
      if (failed) return;
      failed = true;
      req.unpipe(parser);
      reject(error);
    };
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: req.headers,
        limits: { fields: 4, fieldSize: 1_000_000, files: 256, fileSize: deps.maxUploadBytes + 1 },
      });
    } catch (error) {
      throw new Refusal(415, `the multipart body cannot be read: ${(error as Error).message}`, {
        code: 'BAD_REQUEST',
      });
    }
    parser.on('field', (name, value) => {
      if (name !== 'input')
        return fail(
          new Refusal(
            400,
            `unknown field ${JSON.stringify(name)}: the fields are input, model, weights`,
            {
              code: 'BAD_USER_INPUT',
              field: name,
            },
          ),
        );
      let parsed: unknown;
      try {
        parsed = JSON.parse(value);
      } catch (error) {
        return fail(
          new Refusal(400, `input: must be JSON, ${(error as Error).message}`, {
            code: 'BAD_USER_INPUT',
            field: 'input',
          }),
        );
      }
      prepared = deps.services.imports.prepare(parsed, principal.name);
      prepared.catch(fail);
    });
    parser.on('file', (field, stream, info) => {
      if (field !== 'model' && field !== 'weights') {
        stream.resume();
        return fail(
          new Refusal(
            400,
            `unknown file part ${JSON.stringify(field)}: the files are model, weights`,
            {
              code: 'BAD_USER_INPUT',
              field,
            },
          ),
        );
      }
      if (!prepared) {
        stream.resume();
        return fail(
          new Refusal(400, 'input: the `input` field must come before the files', {
            code: 'BAD_USER_INPUT',
            field: 'input',
          }),
        );
      }
      const file = session.open(field, info.filename || field);
      stream.on('data', (chunk: Buffer) => {
        total += chunk.byteLength;
        if (total > deps.maxUploadBytes) return fail(tooLarge(deps.maxUploadBytes));
        if (!failed) session.chunk(file, chunk);
      });
    });
    parser.on('error', (error: Error) =>
      fail(
        new Refusal(400, `the multipart body cannot be read: ${error.message}`, {
          code: 'BAD_REQUEST',
        }),
      ),
    );
    parser.on('close', () => {
      if (failed) return;
      if (!prepared)
        return fail(
          new Refusal(400, 'input: the upload has no `input` field', {
            code: 'BAD_USER_INPUT',
            field: 'input',
          }),
        );
      prepared.then(resolve, fail);
    });
    req.pipe(parser);
  });
}
