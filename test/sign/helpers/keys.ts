/** Signing keys for tests, generated fresh per test file (Ed25519 is instant, RSA 3072 ~1 s). */
import { generateSigningKey, readSigningKey, type GeneratedSigningKey, type SigningKey } from '../../../src/pgp/keys.js';

export interface TestKey extends GeneratedSigningKey {
  readonly signing: SigningKey;
}

export async function testKey(type: 'ed25519' | 'rsa', name = `imgfactory test ${type}`): Promise<TestKey> {
  const generated = await generateSigningKey({ name, email: `${type}@imgfactory.invalid`, type, ...(type === 'rsa' ? { rsaBits: 3072 } : {}) });
  return { ...generated, signing: await readSigningKey(generated.privateKeyArmored) };
}
