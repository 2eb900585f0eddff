import type { IncomingMessage, ServerResponse } from 'node:http';
import { HeaderMap, type ApolloServer } from '@apollo/server';
import type { GraphQLContext } from '../api/context.js';
import {
  acceptsGraphQLResponse,
  essenceOf,
  PREFLIGHT_HEADERS,
  SIMPLE_CONTENT_TYPES,
} from './media.js';

/** Largest accepted request body, bytes. */
export const MAX_BODY_BYTES = 1_000_000;

export class BodyTooLargeError extends Error {}

/** Reads a request body up to `limit` bytes. */
export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = Number(req.headers['content-length'] ?? 0) > limit;
    if (tooLarge) {
      // Answer at once and let the rest of the body drain, so the client reads the 413.
      reject(new BodyTooLargeError(`request body is over ${limit} bytes`));
      req.resume();
      return;
    }
    req.on('data', (chunk: Buffer) => {
      if (tooLarge) return;
      size += chunk.length;
      if (size > limit) {
        tooLarge = true;
        chunks.length = 0;
        reject(new BodyTooLargeError(`request body is over ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** Methods `/graphql` answers; anything else gets 405 with this as `Allow`. */
export const ALLOWED_METHODS = 'GET, POST';

/**
 * Answers a refusal before the body is read. The unread body is drained so the client reads the
 * answer, and the connection is closed after it: no body size limit applies to a body nobody reads.
 */
function refuse(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  message: string,
  headers: Record<string, string> = {},
): void {
  const hasBody =
    Number(req.headers['content-length'] ?? 0) > 0 ||
    req.headers['transfer-encoding'] !== undefined;
  if (hasBody) res.setHeader('connection', 'close');
  req.resume();
  for (const [key, value] of Object.entries(headers)) res.setHeader(key, value);
  sendJson(res, status, { errors: [{ message, extensions: { code: 'BAD_REQUEST' } }] });
}

/**
 * Hands one HTTP request to Apollo (Apollo 5 has no built-in node:http integration).
 *
 * Refused here, before the body is read or anything runs, each with a message that says what to
 * send: methods other than GET and POST (405 with `Allow`); a POST whose `Accept` admits no JSON
 * media type (406; Apollo would run the operation first, mutations included, and only then answer
 * 406); a POST whose body is not declared JSON, with no content-type or any other (415: only a
 * JSON body is read, which also keeps cross-site "simple" POSTs, the CSRF risk, from running); a
 * GET that Apollo's CSRF prevention would block (400, naming the header to add; Apollo's check
 * stays on behind this one). A body over {@link MAX_BODY_BYTES} gets 413, malformed JSON 400
 * `BAD_REQUEST`; everything else (parameter checks, status codes of GraphQL errors) is Apollo's.
 */
export async function handleGraphQL(
  apollo: ApolloServer<GraphQLContext>,
  req: IncomingMessage,
  res: ServerResponse,
  context: () => Promise<GraphQLContext>,
): Promise<void> {
  const method = req.method ?? 'GET';
  if (method !== 'GET' && method !== 'POST') {
    refuse(req, res, 405, `/graphql answers GET and POST; got ${method}`, {
      allow: ALLOWED_METHODS,
    });
    return;
  }
  const type = req.headers['content-type'] ?? '';
  const essence = essenceOf(type);
  if (method === 'GET') {
    const preflighted = PREFLIGHT_HEADERS.some((name) => (req.headers[name] ?? '').length > 0);
    if (!preflighted && (essence === '' || SIMPLE_CONTENT_TYPES.has(essence))) {
      refuse(
        req,
        res,
        400,
        `a GET to /graphql needs the header "apollo-require-preflight: 1" (CSRF prevention: a browser cannot send it cross-site without asking first), or POST the operation with "content-type: application/json"`,
      );
      return;
    }
  }
  let body: unknown = undefined;
  if (method === 'POST') {
    const accept = req.headers.accept;
    if (!acceptsGraphQLResponse(accept)) {
      refuse(
        req,
        res,
        406,
        `accept "${accept}" admits neither application/json nor application/graphql-response+json`,
      );
      return;
    }
    // Any JSON flavour, as before (application/json, application/graphql-response+json...).
    const isJson = /json/.test(essence);
    if (!isJson) {
      const got = essence === '' ? 'no content-type' : `content-type "${type}"`;
      refuse(
        req,
        res,
        415,
        `a POST body must be JSON: send the header "content-type: application/json" with {"query": ..., "variables": ...}; got ${got}`,
      );
      return;
    }
    let text: string;
    try {
      text = await readBody(req);
    } catch (error) {
      if (error instanceof BodyTooLargeError) {
        res.setHeader('connection', 'close');
        sendJson(res, 413, {
          errors: [{ message: error.message, extensions: { code: 'BAD_REQUEST' } }],
        });
        return;
      }
      throw error;
    }
    if (text.length > 0) {
      try {
        body = JSON.parse(text);
      } catch {
        sendJson(res, 400, {
          errors: [
            { message: 'request body is not valid JSON', extensions: { code: 'BAD_REQUEST' } },
          ],
        });
        return;
      }
    } else {
      body = text;
    }
  }
  const headers = new HeaderMap();
  for (const [key, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
  }
  const url = new URL(req.url ?? '/', 'http://localhost');
  const response = await apollo.executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method, headers, search: url.search, body },
    context,
  });
  for (const [key, value] of response.headers) res.setHeader(key, value);
  res.statusCode = response.status ?? 200;
  if (response.body.kind === 'complete') {
    res.end(response.body.string);
    return;
  }
  for await (const chunk of response.body.asyncIterator) res.write(chunk);
  res.end();
}
