/** The pure parts of an export: settings files, LXC metadata, users, checksums, provenance. */
import { describe, expect, it } from 'vitest';
import { formatSha256Sums } from '../../src/export/checksums.js';
import { exportProvenance } from '../../src/export/export-provenance.js';
import { resolveImageUser } from '../../src/export/image-user.js';
import { lxcMetadataFiles, smallTar } from '../../src/export/lxc-metadata.js';
import { nspawnSettings } from '../../src/export/nspawn-settings.js';
import { quoteWord } from '../../src/export/settings-quote.js';
import type { ImageConfig } from '../../src/oci/types.js';
import { parseProvenance } from '../../src/provenance/statement.js';
import { codeOf } from '../helpers/error-code.js';

const DIGEST = `sha256:${'ab'.repeat(32)}` as const;
const config = (c: ImageConfig['config']): ImageConfig => ({ architecture: 'amd64', os: 'linux', config: c, rootfs: { type: 'layers', diff_ids: [] } });
const PASSWD = 'root:x:0:0:root:/root:/bin/bash\napp:x:1000:1000::/home/app:/bin/bash\n';
const GROUP = 'root:x:0:\nstaff:x:50:\napp:x:1000:\n';

describe('nspawn settings', () => {
  it('carries command, user, directory, environment and stop signal', () => {
    const s = nspawnSettings(
      config({ User: 'app', WorkingDir: '/home/app', Env: ['A=1', 'B=two words'], Entrypoint: ['/bin/sh', '-c'], Cmd: ['echo "hi"'], StopSignal: 'SIGINT' }),
      DIGEST,
    );
    expect(s.text.split('\n')).toEqual([
      `# imgfactory export of ${DIGEST}`,
      '[Exec]',
      'Boot=no',
      `Parameters=/bin/sh -c 'echo "hi"'`,
      'User=app',
      'WorkingDirectory=/home/app',
      'Environment=A=1',
      'Environment="B=two words"',
      'KillSignal=SIGINT',
      '',
    ]);
    expect(s.omitted).toEqual([]);
  });

  it('reports what it cannot express instead of guessing', () => {
    const s = nspawnSettings(config({ User: 'app:staff', Env: ['X=a\\b'], Cmd: [`it's "quoted"`], ExposedPorts: { '80/tcp': {} } }), DIGEST);
    expect(s.text).not.toContain('Parameters=');
    expect(s.text).not.toContain('X=');
    expect(s.text).toContain('User=app\n');
    expect(s.omitted).toHaveLength(4);
  });

  it('quotes words so that whitespace-splitting with quotes gives them back', () => {
    expect(quoteWord('plain')).toBe('plain');
    expect(quoteWord('')).toBe('""');
    expect(quoteWord('a b')).toBe('"a b"');
    expect(quoteWord('say "x"')).toBe(`'say "x"'`);
    expect(quoteWord('a\nb')).toBeUndefined();
  });
});

describe('LXC metadata', () => {
  it('writes config with numeric ids, and the files lxc-local reads', () => {
    const user = resolveImageUser('app', PASSWD, GROUP);
    const meta = lxcMetadataFiles(config({ User: 'app', WorkingDir: '/home/app', Cmd: ['/bin/bash'], Env: ['LANG=C.UTF-8'] }), user, DIGEST);
    expect([...meta.files.keys()].sort()).toEqual(['config', 'config-user', 'excludes-user', 'templates']);
    const lines = meta.files.get('config')!.split('\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        'lxc.include = LXC_TEMPLATE_CONFIG/common.conf',
        'lxc.arch = amd64',
        'lxc.init.cmd = /bin/bash',
        'lxc.init.uid = 1000',
        'lxc.init.gid = 1000',
        'lxc.init.cwd = /home/app',
        'lxc.environment = LANG=C.UTF-8',
      ]),
    );
    expect(meta.files.get('config-user')).toContain('lxc.include = LXC_TEMPLATE_CONFIG/userns.conf');
  });

  it('packs the metadata as the same bytes every time', () => {
    const files = new Map([
      ['b', 'two'],
      ['a', 'one'],
    ]);
    expect(smallTar(files, 100).equals(smallTar(new Map([...files].reverse()), 100))).toBe(true);
    expect(smallTar(files, 100).length % 512).toBe(0);
  });
});

describe('image user', () => {
  it('resolves names, numbers and groups against the image files', () => {
    expect(resolveImageUser('app', PASSWD, GROUP)).toEqual({ name: 'app', uid: 1000, gid: 1000 });
    expect(resolveImageUser('app:staff', PASSWD, GROUP)).toEqual({ name: 'app', uid: 1000, gid: 50 });
    expect(resolveImageUser('1234:5', PASSWD, GROUP)).toEqual({ uid: 1234, gid: 5 });
    expect(resolveImageUser(undefined, PASSWD, GROUP)).toEqual({ name: 'root', uid: 0, gid: 0 });
    expect(codeOf(() => resolveImageUser('nobody', PASSWD, GROUP))).toBe('USER_UNKNOWN');
    expect(codeOf(() => resolveImageUser('app:wheel', PASSWD, GROUP))).toBe('USER_UNKNOWN');
  });
});

describe('SHA256SUMS and provenance', () => {
  const files = [
    { name: 'b.tar', sha256: 'b'.repeat(64) },
    { name: 'a.nspawn', sha256: 'a'.repeat(64) },
  ];

  it('SHA256SUMS is sha256sum text mode, sorted; odd names are refused', () => {
    expect(formatSha256Sums(files)).toBe(`${'a'.repeat(64)}  a.nspawn\n${'b'.repeat(64)}  b.tar\n`);
    expect(codeOf(() => formatSha256Sums([{ name: 'a b', sha256: 'a'.repeat(64) }]))).toBe('NAME_INVALID');
  });

  it('the export statement has the files as subjects and the image as its dependency', () => {
    const s = exportProvenance({
      files,
      format: 'nspawn',
      name: 'm',
      source: 'oci-layout',
      signedDigest: DIGEST,
      manifestDigest: DIGEST,
      imageSigners: ['F'],
      builder: { id: 'b', version: '1' },
    });
    const facts = parseProvenance(new TextEncoder().encode(JSON.stringify(s)));
    expect(facts.subjectDigests).toEqual([`sha256:${'a'.repeat(64)}`, `sha256:${'b'.repeat(64)}`]);
    expect(s.predicate.buildDefinition.resolvedDependencies).toEqual([{ name: 'image', uri: 'oci-layout', digest: { sha256: 'ab'.repeat(32) } }]);
  });
});
