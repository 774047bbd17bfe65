import { describe, expect, it } from 'vitest';
import { buildImageConfig } from '../../src/image/config.js';
import { buildIndex, buildManifest, imageAnnotations } from '../../src/image/manifest.js';
import { canonicalJson } from '../../src/oci/json.js';
import { sha256Digest } from '../../src/oci/digest.js';

const d1 = sha256Digest('layer1');
const cfg = { env: { LANG: 'C.UTF-8', A: '1' }, labels: { b: '2', a: '1' }, ports: ['8080/tcp'], user: 'app', workdir: '/home/app', cmd: ['/bin/bash'] };

describe('image config', () => {
  it('maps the recipe config to OCI fields with the Debian arch as OCI platform', () => {
    const c = buildImageConfig({ debianArch: 'arm64', config: cfg, layers: [{ diffId: d1, createdBy: 'base' }], created: '2025-01-01T00:00:00Z' });
    expect(c).toMatchObject({ architecture: 'arm64', os: 'linux', variant: 'v8', rootfs: { type: 'layers', diff_ids: [d1] } });
    expect(c.config).toEqual({
      User: 'app',
      ExposedPorts: { '8080/tcp': {} },
      Env: ['A=1', 'LANG=C.UTF-8', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      Cmd: ['/bin/bash'],
      WorkingDir: '/home/app',
      Labels: { a: '1', b: '2' },
    });
    expect(c.history).toEqual([{ created: '2025-01-01T00:00:00Z', created_by: 'base' }]);
  });

  it('serializes identically whatever order the recipe wrote keys in', () => {
    const a = buildImageConfig({ debianArch: 'amd64', config: cfg, layers: [], created: 'x' });
    const b = buildImageConfig({
      debianArch: 'amd64',
      config: { ...cfg, env: { A: '1', LANG: 'C.UTF-8' }, labels: { a: '1', b: '2' } },
      layers: [],
      created: 'x',
    });
    expect(sha256Digest(canonicalJson(a))).toBe(sha256Digest(canonicalJson(b)));
  });

  it('builds manifests and multi-arch indexes', () => {
    const config = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: d1, size: 3 };
    const m = buildManifest(
      config,
      [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: d1, size: 5 }],
      imageAnnotations({ title: 't', version: '1.0.0', created: 'c' }),
    );
    expect(m.annotations).toEqual({
      'org.opencontainers.image.created': 'c',
      'org.opencontainers.image.title': 't',
      'org.opencontainers.image.version': '1.0.0',
    });
    const idx = buildIndex(
      [{ descriptor: { mediaType: m.mediaType, digest: d1, size: 9 }, platform: { architecture: 'arm', os: 'linux', variant: 'v7' } }],
      {},
    );
    expect(idx.manifests[0]!.platform).toEqual({ architecture: 'arm', os: 'linux', variant: 'v7' });
  });
});
