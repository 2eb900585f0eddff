/**
 * Content negotiation for /graphql: which responses a request accepts, whether it is a browser
 * asking for a page, and which requests Apollo's CSRF prevention regards as simple.
 */

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
export const SIMPLE_CONTENT_TYPES = new Set([
  'application/x-www-form-urlencoded',
  'multipart/form-data',
  'text/plain',
]);

/** Apollo's default `csrfPrevention.requestHeaders`: one of them makes a request preflighted. */
export const PREFLIGHT_HEADERS = ['apollo-require-preflight', 'x-apollo-operation-name'];

interface MediaType {
  readonly type: string;
  readonly subtype: string;
  readonly params: ReadonlyMap<string, string>;
}

interface MediaRange extends MediaType {
  readonly q: number;
}

/** `type/subtype` of a content-type header, lower-cased, without parameters. */
export function essenceOf(contentType: string): string {
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
