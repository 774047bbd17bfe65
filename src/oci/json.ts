/**
 * Canonical bytes for OCI JSON documents: keys in insertion order as built (our builders fix
 * the order), no whitespace, UTF-8. The digest of these bytes *is* the document's identity.
 */
export function canonicalJson(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}
