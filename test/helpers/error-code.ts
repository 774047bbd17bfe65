/** The stable `code` of what `f` throws (tests assert on codes, never on message text). */
export function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
}
