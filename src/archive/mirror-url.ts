/**
 * What a mirror URL given on a command line or to the library may be. It ends up inside
 * one-line formats (a `deb <url> <suite> <components>` sources line for the bootstrapper, the
 * image's own debian.sources), so it is one http(s) URL with no whitespace or control
 * characters: a newline in it would add a line of its choosing (say `[trusted=yes]`) to files
 * apt trusts. Recipes are held to the same rule by their schema. Pure.
 */

const MAX_MIRROR_URL = 2048;

/** Why `value` cannot be a mirror URL, or undefined when it can. */
export function mirrorUrlProblem(value: string): string | undefined {
  if (value.length > MAX_MIRROR_URL) return `longer than ${MAX_MIRROR_URL} characters`;
  // Whitespace and control characters: \s covers newline and tab, the class the rest of C0 and DEL.
  if (/[\s\u0000-\u001f\u007f]/.test(value)) return 'may not contain whitespace or control characters';
  if (!/^https?:\/\/[^/]+/.test(value) || !URL.canParse(value)) return 'expected an http:// or https:// URL';
  return undefined;
}
