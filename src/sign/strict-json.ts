/**
 * JSON.parse that also rejects duplicate object keys. containers/image parses signature
 * payloads "paranoidly" (a duplicate key is an error), and two readers that resolve a duplicate
 * differently would see two different claims under one signature. Pure.
 */
export function parseJsonRejectingDuplicates(text: string): unknown {
  const value: unknown = JSON.parse(text);
  const duplicate = findDuplicateKey(text);
  if (duplicate !== undefined) throw new SyntaxError(`duplicate key ${JSON.stringify(duplicate)}`);
  return value;
}

interface Frame {
  readonly keys: Set<string> | undefined;
  expectKey: boolean;
}

/** Scans text already known to be valid JSON; returns the first repeated key in any object. */
function findDuplicateKey(text: string): string | undefined {
  const stack: Frame[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const top = stack[stack.length - 1];
      if (top?.keys && top.expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.keys.has(key)) return key;
        top.keys.add(key);
        top.expectKey = false;
      }
      i = j;
    } else if (c === '{') stack.push({ keys: new Set(), expectKey: true });
    else if (c === '[') stack.push({ keys: undefined, expectKey: false });
    else if (c === '}' || c === ']') stack.pop();
    else if (c === ',') {
      const top = stack[stack.length - 1];
      if (top?.keys) top.expectKey = true;
    }
  }
  return undefined;
}
