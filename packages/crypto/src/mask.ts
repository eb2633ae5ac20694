/**
 * Masks a secret for display, in the form of `api_keys.masked_key` (`WW8G...T9g`).
 *
 * Rule: reveal `min(7, floor(n / 4))` characters of an `n`-character secret (never more than a
 * quarter of it), split as `ceil(r / 2)` leading and `floor(r / 2)` trailing characters around
 * `...`. So 28+ characters show 4 + 3; 12 show 2 + 1; 8 show 1 + 1; 4-7 show the first only; under
 * 4 show nothing: `****`. The empty string masks to `''`. Characters are code points, so a
 * surrogate pair is never split. The output length does not grow with the secret.
 */
export function mask(secret: string): string {
  if (secret === '') return '';
  const chars = Array.from(secret);
  const reveal = Math.min(7, Math.floor(chars.length / 4));
  if (reveal === 0) return '****';
  const head = Math.ceil(reveal / 2);
  const tail = reveal - head;
  return `${chars.slice(0, head).join('')}...${tail > 0 ? chars.slice(-tail).join('') : ''}`;
}
