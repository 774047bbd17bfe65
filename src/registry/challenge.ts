/**
 * `WWW-Authenticate` challenges (RFC 7235) as registries send them:
 * `Bearer realm="https://auth/token",service="registry",scope="repository:a/b:pull"` or
 * `Basic realm="imgfactory"`. Pure.
 */

export interface AuthChallenge {
  /** Lower-cased scheme: `basic`, `bearer`, … */
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

/** Every challenge in the header, in order; unparseable text is skipped rather than guessed at. */
export function parseWwwAuthenticate(header: string | null | undefined): AuthChallenge[] {
  if (!header) return [];
  const out: { scheme: string; params: Record<string, string> }[] = [];
  let i = 0;
  const s = header;
  const skipSpace = () => {
    while (i < s.length && /[\s,]/.test(s[i]!)) i++;
  };
  const readToken = () => {
    const start = i;
    while (i < s.length && /[!#$%&'*+\-.^_`|~0-9A-Za-z]/.test(s[i]!)) i++;
    return s.slice(start, i);
  };
  while (i < s.length) {
    skipSpace();
    const word = readToken();
    if (!word) {
      i++;
      continue;
    }
    let j = i;
    while (j < s.length && s[j] === ' ') j++;
    if (s[j] === '=' && out.length > 0) {
      // `name=value` belongs to the challenge being read.
      i = j + 1;
      while (i < s.length && s[i] === ' ') i++;
      let value: string;
      if (s[i] === '"') {
        i++;
        let v = '';
        while (i < s.length && s[i] !== '"') {
          if (s[i] === '\\' && i + 1 < s.length) i++;
          v += s[i];
          i++;
        }
        i++;
        value = v;
      } else {
        const start = i;
        while (i < s.length && s[i] !== ',' && !/\s/.test(s[i]!)) i++;
        value = s.slice(start, i);
      }
      out[out.length - 1]!.params[word.toLowerCase()] = value;
    } else {
      out.push({ scheme: word.toLowerCase(), params: {} });
    }
  }
  return out;
}
