/**
 * `registry serve --tls-dir`: the CA survives a restart, so a consumer configured with the
 * first start's CA (podman --cert-dir, imgfactory --ca-file) still reaches the second.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRegistryClient } from '../../src/registry/client.js';
import { startLocalRegistry } from '../../src/registry/local-registry.js';
import { runCli } from '../helpers/cli.js';
import { testDir } from '../helpers/registry.js';

describe('registry TLS material kept in a directory', () => {
  it('is made on the first start and reused by the next', async () => {
    const dir = join(await testDir(), 'tls');
    const first = await startLocalRegistry({ tls: true, tlsDir: dir });
    const ca = await readFile(first.caFile!, 'utf8');
    expect(first.caFile).toBe(join(dir, 'certs', 'ca.crt'));
    await first.stop();
    const second = await startLocalRegistry({ tls: true, tlsDir: dir });
    try {
      expect(await readFile(second.caFile!, 'utf8')).toBe(ca);
      // The CA as the consumer kept it from the first start verifies the second server.
      await createRegistryClient({ registry: second.host, ca }).ping();
    } finally {
      await second.stop();
    }
    // stop() removes the registry's work directory, never the kept TLS directory.
    expect(await readFile(join(dir, 'certs', 'ca.crt'), 'utf8')).toBe(ca);
  }, 120_000);

  it('--tls-dir without --tls is a usage error', async () => {
    const r = await runCli(['registry', 'serve', '--tls-dir', '/nonexistent-imgfactory', '--json']);
    expect(r.status).toBe(2);
    expect(JSON.parse(r.stdout).code).toBe('BAD_OPTION');
  });
});
