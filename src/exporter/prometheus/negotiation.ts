// Content negotiation of /metrics: the exposition format from Accept, gzip from Accept-Encoding.
// negotiator (jshttp, Express's) does the RFC 9110 work: q-values, q=0 as a refusal, wildcards,
// the most specific range deciding (`application/openmetrics-text;q=0, */*` refuses OpenMetrics).

import Negotiator from 'negotiator';

export type Format = 'text' | 'openmetrics';

/** Our preference order: it breaks ties, and text comes first, as in client_golang. */
const MEDIA_TYPES: Record<string, Format> = {
  'text/plain': 'text',
  'application/openmetrics-text': 'openmetrics',
};

/**
 * The format to serve for an Accept header: the one the client rates highest, text when the header
 * is absent or accepts nothing we offer (client_golang's fallback, so curl and browsers get text).
 */
export function negotiateFormat(accept: string | undefined): Format {
  const headers = accept === undefined ? {} : { accept: withoutMediaTypeParameters(accept) };
  const best = new Negotiator({ headers }).mediaType(Object.keys(MEDIA_TYPES));
  return best === undefined ? 'text' : MEDIA_TYPES[best];
}

/**
 * The Accept header with every media-type parameter but q removed. negotiator counts a range as
 * matching only when all its parameters equal the offered type's, so Prometheus's
 * `application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6` would match no type we
 * offer, and its catch-all range at q=0.2 would decide: text. Versions are not negotiated: we write
 * OpenMetrics 1.0.0 and text 0.0.4, which every Prometheus that asks for either can read.
 * One pass, no regular expression over the whole header: a 16 KiB header (Node's limit) costs
 * microseconds, whatever it holds.
 */
export function withoutMediaTypeParameters(accept: string): string {
  let out = '';
  let from = 0;
  for (let semi = accept.indexOf(';'); semi >= 0; semi = accept.indexOf(';', from)) {
    out += accept.slice(from, semi);
    from = parameterEnd(accept, semi + 1);
    const param = accept.slice(semi, from);
    if (/^;[ \t]*q[ \t]*=/i.test(param)) out += param;
  }
  return out + accept.slice(from);
}

/** Where the parameter starting at `i` ends: the next `;` or `,` outside a quoted string. */
function parameterEnd(s: string, i: number): number {
  let quoted = false;
  for (; i < s.length; i++) {
    const c = s[i];
    if (quoted) {
      if (c === '\\')
        i++; // a quoted-pair: skip the escaped character
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === ';' || c === ',') return i;
  }
  return s.length;
}

/** Encodings in our order of preference: gzip wins a tie with identity. */
const ENCODINGS = ['gzip', 'identity'];

/**
 * Whether to gzip for an Accept-Encoding header: only when the client's q for gzip (or `*`) is
 * above 0 and at least identity's. No header: no gzip (RFC 9110 would allow it, but curl without
 * --compressed sends none and could not read it).
 */
export function acceptsGzip(acceptEncoding: string | undefined): boolean {
  const headers = acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding };
  // negotiator 1.x takes `preferred` to break ties by our order rather than the header's;
  // @types/negotiator (0.6) does not declare the option yet.
  const negotiator = new Negotiator({ headers }) as unknown as {
    encodings(available: string[], opts: { preferred: string[] }): string[];
  };
  return negotiator.encodings(ENCODINGS, { preferred: ENCODINGS })[0] === 'gzip';
}
