import type { IncomingMessage, ServerResponse } from 'node:http';
import { HeaderMap, type ApolloServer } from '@apollo/server';
import type { GraphQLContext } from '../api/schema.js';

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
 * The response media types Apollo offers for a single result (its
 * `chooseContentTypeForSingleResultResponse`), with their parameters.
 */
const OFFERED_TYPES: readonly MediaType[] = [
  { type: 'application', subtype: 'json', params: new Map([['charset', 'utf-8']]) },
  {
    type: 'application',
    subtype: 'graphql-response+json',
    params: new Map([['charset', 'utf-8']]),
  },
  {
    type: 'application',
    subtype: 'json',
    params: new Map([
      ['callbackspec', '1.0'],
      ['charset', 'utf-8'],
    ]),
  },
];

/**
 * Content types a browser may send cross-site without a CORS preflight: a GET with one of them (or
 * none) and no preflight header is what Apollo's CSRF prevention blocks.
 */
const SIMPLE_CONTENT_TYPES = new Set([
  'application/x-www-form-urlencoded',
  'multipart/form-data',
  'text/plain',
]);

/** Apollo's default `csrfPrevention.requestHeaders`: one of them makes a request preflighted. */
const PREFLIGHT_HEADERS = ['apollo-require-preflight', 'x-apollo-operation-name'];

interface MediaType {
  readonly type: string;
  readonly subtype: string;
  readonly params: ReadonlyMap<string, string>;
}

interface MediaRange extends MediaType {
  readonly q: number;
}

/** `type/subtype` of a content-type header, lower-cased, without parameters. */
function essenceOf(contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase();
}

function parseAccept(header: string): MediaRange[] {
  const ranges: MediaRange[] = [];
  for (const part of header.split(',')) {
    const [range = '', ...rawParams] = part.split(';');
    const [type, subtype] = range.trim().toLowerCase().split('/');
    if (!type || !subtype) continue;
    let q = 1;
    const params = new Map<string, string>();
    for (const raw of rawParams) {
      const eq = raw.indexOf('=');
      if (eq < 0) continue;
      const key = raw.slice(0, eq).trim().toLowerCase();
      const value = raw
        .slice(eq + 1)
        .trim()
        .replace(/^"(.*)"$/, '$1')
        .toLowerCase();
      if (key === 'q') q = Number.parseFloat(value);
      else params.set(key, value);
    }
    ranges.push({ type, subtype, params, q });
  }
  return ranges;
}

/**
 * The quality an `Accept` header gives `offered`: that of its most specific matching range (the
 * rule of Apollo's negotiator), 0 when no range matches.
 */
function qualityOf(ranges: readonly MediaRange[], offered: MediaType): number {
  let best: { specificity: number; q: number } | null = null;
  for (const range of ranges) {
    let specificity = 0;
    if (range.type === offered.type) specificity |= 4;
    else if (range.type !== '*') continue;
    if (range.subtype === offered.subtype) specificity |= 2;
    else if (range.subtype !== '*') continue;
    if (range.params.size > 0) {
      const matches = [...range.params].every(
        ([key, value]) => value === '*' || value === (offered.params.get(key) ?? ''),
      );
      if (!matches) continue;
      specificity |= 1;
    }
    if (
      best === null ||
      specificity > best.specificity ||
      (specificity === best.specificity && range.q > best.q)
    )
      best = { specificity, q: range.q };
  }
  return best?.q ?? 0;
}

/**
 * Whether an `Accept` header admits a response Apollo can send for a single result: the same rule
 * as Apollo's negotiator, so that a request Apollo would answer with 406 is refused here before it
 * runs. A missing or empty header accepts JSON.
 */
export function acceptsGraphQLResponse(accept: string | undefined): boolean {
  if (!accept) return true;
  const ranges = parseAccept(accept);
  return OFFERED_TYPES.some((offered) => qualityOf(ranges, offered) > 0);
}

const HTML: MediaType = { type: 'text', subtype: 'html', params: new Map() };

/**
 * Whether an `Accept` header ranks HTML above every JSON type GraphQL answers in: a browser
 * opening the URL, not a GraphQL client. A tie (a wildcard such as curl's, or no header) goes to
 * JSON.
 */
export function prefersHtml(accept: string | undefined): boolean {
  if (!accept) return false;
  const ranges = parseAccept(accept);
  const html = qualityOf(ranges, HTML);
  return html > 0 && OFFERED_TYPES.every((offered) => qualityOf(ranges, offered) < html);
}

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
