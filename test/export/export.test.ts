/**
 * `imgfactory export` on the real debian-minimal build, checked with the tools its users have:
 * gpgv and sha256sum for the files, systemd-import and systemd-nspawn for nspawn, lxc-create for
 * LXC. Refusals leave --out as it was.
 */
import { copyFile, mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/exec.js';
import { signDetached } from '../../src/export/detached-signature.js';
import { exportImage } from '../../src/export/index.js';
import { listTarEntries } from '../../src/layer/read-tar.js';
import { Layout } from '../../src/oci/layout.js';
import type { BuildResult } from '../../src/pipeline/build.js';
import { verifyDsse } from '../../src/provenance/dsse.js';
import { parseProvenance } from '../../src/provenance/statement.js';
import { readVerificationKeys } from '../../src/pgp/keys.js';
import { runCli } from '../helpers/cli.js';
import { sharedBuild } from '../helpers/shared-build.js';
import { tempDir } from '../helpers/tmp.js';
import { testKey, type TestKey } from '../sign/helpers/keys.js';
import { dearmoredKeyring, flipByte, signedCopy } from './helpers.js';

let built: BuildResult;
let layoutDir: string;
let factory: TestKey;
let other: TestKey;
let keyDir: string;
let keyring: string;

async function keyFile(name: string, text: string): Promise<string> {
  const file = join(keyDir, name);
  await writeFile(file, text);
  return file;
}

async function exportCli(format: string, out: string, extra: string[] = [], layout = layoutDir) {
  return runCli([
    'export',
    layout,
    '--format',
    format,
    '--key',
    join(keyDir, 'factory.pub.asc'),
    '--sign-key',
    join(keyDir, 'factory.secret.asc'),
    '--out',
    out,
    '--json',
    ...extra,
  ]);
}

/** gpgv with only the consumer keyring, then sha256sum -c: both exit statuses. */
async function consumerCheck(dir: string): Promise<{ gpgv: number; sums: number }> {
  const gpgv = await run(['gpgv', '--keyring', keyring, 'SHA256SUMS.gpg', 'SHA256SUMS'], { cwd: dir, okExitCodes: [1, 2] });
  const sums = await run(['sha256sum', '--strict', '-c', 'SHA256SUMS'], { cwd: dir, okExitCodes: [1] });
  return { gpgv: gpgv.exitCode, sums: sums.exitCode };
}

beforeAll(async () => {
  built = await sharedBuild('debian-minimal');
  factory = await testKey('ed25519', 'imgfactory factory');
  other = await testKey('ed25519', 'someone else');
  layoutDir = await signedCopy(built, factory);
  keyDir = await tempDir('imgfactory-export-keys-');
  await keyFile('factory.pub.asc', factory.publicKeyArmored);
  await keyFile('factory.secret.asc', factory.privateKeyArmored);
  await keyFile('other.pub.asc', other.publicKeyArmored);
  await keyFile('other.secret.asc', other.privateKeyArmored);
  keyring = await dearmoredKeyring(factory.publicKeyArmored);
}, 20 * 60_000);

describe('export --format nspawn', () => {
  let out: string;
  beforeAll(async () => {
    out = join(await tempDir('imgfactory-export-nspawn-'), 'out');
    const r = await exportCli('nspawn', out);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  }, 10 * 60_000);

  it('writes the tarball, the settings file, SHA256SUMS, its signature and the provenance', async () => {
    expect((await readdir(out)).sort()).toEqual(
      ['SHA256SUMS', 'SHA256SUMS.gpg', 'debian-minimal.nspawn', 'debian-minimal.tar.gz', 'provenance.intoto.json'].sort(),
    );
    const settings = await readFile(join(out, 'debian-minimal.nspawn'), 'utf8');
    expect(settings.split('\n')).toEqual(
      expect.arrayContaining(['[Exec]', 'Boot=no', 'Parameters=/bin/bash', 'User=app', 'WorkingDirectory=/home/app', 'Environment=LANG=C.UTF-8']),
    );
  });

  it('verifies with gpgv and sha256sum -c alone; a flipped byte or another signer fails', async () => {
    expect(await consumerCheck(out)).toEqual({ gpgv: 0, sums: 0 });

    const tarFlipped = join(await tempDir('imgfactory-export-t1-'), 'x');
    await run(['cp', '-a', out, tarFlipped]);
    await flipByte(join(tarFlipped, 'debian-minimal.tar.gz'), 4096);
    expect((await consumerCheck(tarFlipped)).sums).toBe(1);

    const sumsFlipped = join(await tempDir('imgfactory-export-t2-'), 'x');
    await run(['cp', '-a', out, sumsFlipped]);
    await flipByte(join(sumsFlipped, 'SHA256SUMS'), 10);
    expect((await consumerCheck(sumsFlipped)).gpgv).not.toBe(0);

    const otherSigner = join(await tempDir('imgfactory-export-t3-'), 'x');
    await run(['cp', '-a', out, otherSigner]);
    const sums = await readFile(join(otherSigner, 'SHA256SUMS'));
    await writeFile(join(otherSigner, 'SHA256SUMS.gpg'), await signDetached(sums, other.signing));
    const r = await consumerCheck(otherSigner);
    expect(r.gpgv).not.toBe(0);
    expect(r.sums).toBe(0);
  });

  it('has a signed provenance naming the image digest and the exported files', async () => {
    const env = await verifyDsse(await readFile(join(out, 'provenance.intoto.json')), await readVerificationKeys([factory.publicKeyArmored]));
    expect(env.signerFingerprint).toBe(factory.fingerprint);
    const statement = JSON.parse(Buffer.from(env.payload).toString('utf8'));
    expect(parseProvenance(env.payload).subjectDigests.length).toBe(2);
    const sums = (await readFile(join(out, 'SHA256SUMS'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => l.split('  '));
    expect(statement.subject).toEqual(sums.map(([sha256, name]) => ({ name, digest: { sha256 } })));
    expect(statement.predicate.buildDefinition.resolvedDependencies[0].digest.sha256).toBe(built.report.manifestDigest.slice(7));
  });

  it('systemd-import accepts the tarball and systemd-nspawn runs it as the image user', async () => {
    const machines = await tempDir('imgfactory-machines-');
    await run(['/usr/lib/systemd/systemd-import', '--image-root', machines, '--sync=no', 'tar', join(out, 'debian-minimal.tar.gz'), 'debian-minimal']);
    // The importer leaves the settings file to importd; systemd-nspawn finds it beside the image.
    await copyFile(join(out, 'debian-minimal.nspawn'), join(machines, 'debian-minimal.nspawn'));
    const nspawn = (...cmd: string[]) =>
      run(['systemd-nspawn', '--quiet', '--pipe', '--register=no', '--keep-unit', '-D', join(machines, 'debian-minimal'), ...cmd]);
    expect((await nspawn('id', '-un')).stdout.trim()).toBe('app');
    expect((await nspawn('pwd')).stdout.trim()).toBe('/home/app');
    const version = (await nspawn('cat', '/etc/debian_version')).stdout;
    // The same bytes the image's base layer carries (read from the signed blob, not from the export).
    const layout = await Layout.open(layoutDir);
    const image = await layout.image({ tag: built.report.ref });
    const entries = await listTarEntries(layout.blobPath(image.manifest.layers[0]!.digest));
    const inLayer = entries.find((e) => e.name === 'etc/debian_version');
    const { createHash } = await import('node:crypto');
    expect(`sha256:${createHash('sha256').update(version).digest('hex')}`).toBe(inLayer?.contentDigest);
  });
});

/** Serve a directory's files on loopback, as the download server systemd-pull fetches from. */
async function serveDir(dir: string): Promise<{ url: string; close: () => Promise<void> }> {
  const { createServer } = await import('node:http');
  const { createReadStream } = await import('node:fs');
  const server = createServer((req, res) => {
    const name = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname.slice(1));
    if (!/^[A-Za-z0-9._-]+$/.test(name)) return void res.writeHead(404).end();
    stat(join(dir, name)).then(
      (s) => {
        res.writeHead(200, { 'content-length': s.size });
        createReadStream(join(dir, name)).pipe(res);
      },
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((done) => server.close(() => done())) };
}

describe('systemd-pull --verify=signature (what importctl pull-tar runs)', () => {
  it(
    'downloads, checks SHA256SUMS.gpg with the consumer keyring and the tarball with SHA256SUMS; refuses another signer',
    async () => {
      const out = join(await tempDir('imgfactory-export-pull-'), 'out');
      expect((await exportCli('nspawn', out)).status).toBe(0);
      // systemd-pull reads its keyring from /usr/lib/systemd/import-pubring.gpg (no /etc override
      // here): the consumer's keyring is bind-mounted over it in a private mount namespace only.
      const pull = async (served: string) => {
        const server = await serveDir(served);
        const root = await tempDir('imgfactory-pull-root-');
        try {
          const r = await run(
            [
              'unshare',
              '--mount',
              '--propagation',
              'private',
              'sh',
              '-c',
              'mount --bind "$1" /usr/lib/systemd/import-pubring.gpg && shift && exec "$@"',
              'sh',
              keyring,
              '/usr/lib/systemd/systemd-pull',
              'tar',
              '--verify=signature',
              '--settings=yes',
              '--sync=no',
              `--image-root=${root}`,
              `${server.url}/debian-minimal.tar.gz`,
              'debian-minimal',
            ],
            { okExitCodes: [1] },
          );
          return { exitCode: r.exitCode, root, stderr: r.stderr };
        } finally {
          await server.close();
          // systemd-pull marks its cached copy immutable; lift that so the temp dir can be removed.
          await run(['chattr', '-R', '-i', root], { okExitCodes: [1] });
        }
      };
      const good = await pull(out);
      expect(good.exitCode).toBe(0);
      expect(await readFile(join(good.root, 'debian-minimal.nspawn'), 'utf8')).toBe(await readFile(join(out, 'debian-minimal.nspawn'), 'utf8'));
      expect((await stat(join(good.root, 'debian-minimal', 'etc', 'debian_version'))).isFile()).toBe(true);

      const sums = await readFile(join(out, 'SHA256SUMS'));
      await writeFile(join(out, 'SHA256SUMS.gpg'), await signDetached(sums, other.signing));
      const bad = await pull(out);
      expect(bad.exitCode).toBe(1);
      expect(await readdir(bad.root)).toEqual([]);
    },
    5 * 60_000,
  );
});

describe('export --format lxc', () => {
  let out: string;
  let lxcPath: string;
  beforeAll(async () => {
    out = join(await tempDir('imgfactory-export-lxc-'), 'out');
    const r = await exportCli('lxc', out);
    expect(r.status).toBe(0);
    lxcPath = await tempDir('imgfactory-lxc-');
  }, 10 * 60_000);

  it('writes rootfs.tar.xz + meta.tar.xz, verifiable with gpgv and sha256sum -c', async () => {
    expect((await readdir(out)).sort()).toEqual(['SHA256SUMS', 'SHA256SUMS.gpg', 'meta.tar.xz', 'provenance.intoto.json', 'rootfs.tar.xz']);
    expect(await consumerCheck(out)).toEqual({ gpgv: 0, sums: 0 });
    await flipByte(join(out, 'meta.tar.xz'), 100);
    expect((await consumerCheck(out)).sums).toBe(1);
    await flipByte(join(out, 'meta.tar.xz'), 100);
    expect((await consumerCheck(out)).sums).toBe(0);
  });

  it('lxc-create -t local accepts it, with the image user, directory and command in the config', async () => {
    await run([
      'lxc-create',
      '-n',
      'debian-minimal',
      '-P',
      lxcPath,
      '-t',
      'local',
      '--',
      '--metadata',
      join(out, 'meta.tar.xz'),
      '--fstree',
      join(out, 'rootfs.tar.xz'),
    ]);
    const config = await readFile(join(lxcPath, 'debian-minimal', 'config'), 'utf8');
    const lines = config.split('\n');
    expect(lines).toEqual(expect.arrayContaining(['lxc.init.uid = 1000', 'lxc.init.gid = 1000', 'lxc.init.cwd = /home/app', 'lxc.init.cmd = /bin/bash']));
    expect(lines).toContain(`lxc.rootfs.path = dir:${join(lxcPath, 'debian-minimal', 'rootfs')}`);
    expect(lines).toContain('lxc.include = /usr/share/lxc/config/common.conf');
    const rootfs = join(lxcPath, 'debian-minimal', 'rootfs');
    const passwd = await readFile(join(rootfs, 'etc', 'passwd'), 'utf8');
    expect(passwd).toMatch(/^app:x:1000:1000:/m);
    const home = await stat(join(rootfs, 'home', 'app'));
    expect([home.uid, home.gid]).toEqual([1000, 1000]);
  });

  it('lxc-execute runs a command in it as the image user (no network: this host has no lxcbr0)', async () => {
    // lxc-local copies the default network (veth on lxcbr0); lxc-net, which creates that bridge,
    // is a service that does not run here, so the container gets an empty network namespace.
    const execute = (...cmd: string[]) =>
      run(['lxc-execute', '-n', 'debian-minimal', '-P', lxcPath, '-s', 'lxc.net.0.type=empty', '--', ...cmd], { timeoutMs: 60_000 });
    expect((await execute('id', '-un')).stdout.trim()).toBe('app');
    expect((await execute('pwd')).stdout.trim()).toBe('/home/app');
    const inRootfs = await readFile(join(lxcPath, 'debian-minimal', 'rootfs', 'etc', 'debian_version'), 'utf8');
    expect((await execute('cat', '/etc/debian_version')).stdout).toBe(inRootfs);
    expect(inRootfs).toMatch(/^12\.\d+\n$/);
  });
});

describe('refusals leave --out as it was', () => {
  it('an unsigned image: exit 1, --out not created', async () => {
    const out = join(await tempDir('imgfactory-export-r1-'), 'out');
    const r = await exportCli('rootfs', out, [], built.report.layoutDir);
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ exported: false, code: 'SIGNATURE_MISSING' });
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    await expect(stat(out)).rejects.toThrow();
  });

  it('an image signed by another key: exit 1, the empty --out left empty', async () => {
    const out = join(await tempDir('imgfactory-export-r2-'), 'out');
    await mkdir(out);
    const r = await runCli([
      'export',
      layoutDir,
      '--format',
      'rootfs',
      '--key',
      join(keyDir, 'other.pub.asc'),
      '--sign-key',
      join(keyDir, 'factory.secret.asc'),
      '--out',
      out,
      '--json',
    ]);
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ exported: false, code: 'SIGNATURE_UNTRUSTED_KEY' });
    expect(await readdir(out)).toEqual([]);
    expect((await readdir(join(out, '..'))).filter((n) => n !== 'out')).toEqual([]);
  });

  it('a --out that is not empty: exit 2, untouched', async () => {
    const out = await tempDir('imgfactory-export-r3-');
    await writeFile(join(out, 'keep'), 'x');
    const r = await exportCli('rootfs', out);
    expect(r.status).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ exported: false, code: 'OUT_NOT_EMPTY' });
    expect(await readdir(out)).toEqual(['keep']);
  });

  it('a layer blob with one byte flipped: exit 1, --out not created', async () => {
    const tampered = join(await tempDir('imgfactory-export-r4-'), 'layout');
    await run(['cp', '-a', layoutDir, tampered]);
    const layout = await Layout.open(tampered);
    const image = await layout.image({ tag: built.report.ref });
    await flipByte(layout.blobPath(image.manifest.layers[0]!.digest), 1_000_000);
    const out = join(tampered, '..', 'out');
    const r = await exportCli('rootfs', out, [], tampered);
    expect(r.status).toBe(1);
    // verify hashes every blob before the export reads one.
    expect(JSON.parse(r.stdout)).toMatchObject({ exported: false, code: 'LAYOUT_BLOB_CORRUPT' });
    await expect(stat(out)).rejects.toThrow();
    expect((await readdir(join(tampered, '..'))).sort()).toEqual(['layout']);
  });
});

describe('interrupted', () => {
  it('an abort mid-export: EXPORT_INTERRUPTED (exit 130), --out not created, no staging left', async () => {
    const parent = await tempDir('imgfactory-export-int-');
    const out = join(parent, 'out');
    const controller = new AbortController();
    const exporting = exportImage({
      layoutDir,
      keys: await readVerificationKeys([factory.publicKeyArmored]),
      format: 'nspawn',
      outDir: out,
      signingKey: factory.signing,
      builder: { id: 'test', version: '0' },
      signal: controller.signal,
      // Abort once the tarball is being written: the staging directory exists by then.
      onProgress: (m) => {
        if (m.startsWith('writing')) setTimeout(() => controller.abort(new Error('SIGINT')), 300);
      },
    });
    const error = await exporting.then(
      () => undefined,
      (e: unknown) => e as { code?: string; exitStatus?: number },
    );
    expect(error).toMatchObject({ code: 'EXPORT_INTERRUPTED', exitStatus: 130 });
    expect(await readdir(parent)).toEqual([]);
  });
});

describe('determinism', () => {
  it(
    'the same image exported twice gives byte-identical files',
    async () => {
      const a = join(await tempDir('imgfactory-export-d1-'), 'out');
      const b = join(await tempDir('imgfactory-export-d2-'), 'out');
      expect((await exportCli('rootfs', a)).status).toBe(0);
      expect((await exportCli('rootfs', b)).status).toBe(0);
      for (const f of ['SHA256SUMS', 'debian-minimal.tar']) {
        expect((await readFile(join(a, f))).equals(await readFile(join(b, f))), f).toBe(true);
      }
      // The signatures differ (OpenPGP signatures carry their creation time); what they sign does not.
      const payload = async (dir: string) => JSON.parse(await readFile(join(dir, 'provenance.intoto.json'), 'utf8')).payload;
      expect(await payload(a)).toBe(await payload(b));
      expect(await consumerCheck(a)).toEqual({ gpgv: 0, sums: 0 });
    },
    5 * 60_000,
  );

  it(
    'so does the nspawn format (gzip tarball and settings file)',
    async () => {
      const a = join(await tempDir('imgfactory-export-d3-'), 'out');
      const b = join(await tempDir('imgfactory-export-d4-'), 'out');
      expect((await exportCli('nspawn', a)).status).toBe(0);
      expect((await exportCli('nspawn', b)).status).toBe(0);
      for (const f of ['SHA256SUMS', 'debian-minimal.tar.gz', 'debian-minimal.nspawn']) {
        expect((await readFile(join(a, f))).equals(await readFile(join(b, f))), f).toBe(true);
      }
    },
    5 * 60_000,
  );
});
