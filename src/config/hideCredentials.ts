// Error lines quote the value they refuse. A URL's user:password must not be quoted with it: the
// line goes to the log, and the log to places the password should not.

/**
 * Pure: `text` with the credentials of any URL in it ("http://u:p@host") replaced by "***". The
 * userinfo ends at the authority's last `@`, as URL parsers read it: a password may hold `@`, and
 * `"` (escaped `\"` in the JSON-quoted values of error lines). When unsure, more is hidden, not less.
 */
export function hideUrlCredentials(text: string): string {
  return text.replace(/([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/?#\s]*@/g, '$1***@');
}
