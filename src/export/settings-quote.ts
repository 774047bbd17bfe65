/**
 * Words for systemd unit-style settings (`.nspawn` `Parameters=`, `Environment=`) and LXC
 * `lxc.init.cmd`: both split on whitespace and honour single and double quotes. A word that
 * quoting cannot carry unambiguously (a backslash, both kinds of quote, a control character) is
 * reported rather than guessed at. Pure.
 */

/** The quoted word, or undefined when it cannot be expressed. */
export function quoteWord(word: string): string | undefined {
  if (/[\u0000-\u001f\u007f\\]/.test(word)) return undefined;
  if (word !== '' && !/[\s"']/.test(word)) return word;
  if (!word.includes('"')) return `"${word}"`;
  if (!word.includes("'")) return `'${word}'`;
  return undefined;
}

/** All words quoted and joined, or undefined when one cannot be expressed. */
export function quoteWords(words: readonly string[]): string | undefined {
  const out: string[] = [];
  for (const w of words) {
    const q = quoteWord(w);
    if (q === undefined) return undefined;
    out.push(q);
  }
  return out.join(' ');
}
