/**
 * URLs as dag prints them. Webhook URLs carry their secret in the path or query (chat webhooks) or,
 * against advice, as `user:password@`: a message shows only the scheme and host, and `/…` when
 * something was left out.
 */

/** `https://hooks.example.com/…` for `https://user:pw@hooks.example.com/T0/B1?x=1`. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const more = parsed.pathname.length > 1 || parsed.search !== '' || parsed.hash !== '';
    return `${parsed.protocol}//${parsed.host}${more ? '/…' : ''}`;
  } catch {
    // Not a URL (`hooks.example.com/x`, `user:pw@host`): keep what stands before the path, minus user info.
    const match = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)?(?:[^/?#@]*@)?([^/?#]*)([\s\S]*)$/.exec(url);
    return match === null ? '…' : `${match[1] ?? ''}${match[2] ?? ''}${match[3] ? '/…' : ''}`;
  }
}

/** Every `scheme://...` in a message (an HTTP client's error may quote the URL it was given) redacted. */
export function redactUrlsIn(text: string): string {
  // Punctuation that ends a sentence or a clause is the message's, not the URL's.
  return text.replace(/\b[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s'"<>`]+?(?=[.,;:!?)\]]*(?:[\s'"<>`]|$))/g, (url) => redactUrl(url));
}
