/**
 * Distroless images assembled from a package set (recipe `contents`), built for real: static and
 * base from recipes/, and two recipes this test writes around a `gcc -static` program: one
 * assembled like static with the program in a `files` entry (signed: SBOM and provenance), one
 * built `from: static` (the way an application uses it). Every file of an image is proven to
 * come from a listed package's .deb (fetched from the mirror and checked against the verified
 * manifest's sha256) or from a declared extra; the SBOM lists exactly the image's dpkg status.d;
 * the program runs under podman as uid 65532 and reads the CA bundle; there is no shell.
 */
import { createHash, randomBytes } from 'node:crypto';
import { cp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { hasFilesOnDisk, parseDpkgStatus, type DpkgStatusEntry } from '../../src/archive/index.js';
import type { VerifiedPackageManifest } from '../../src/archive/package-manifest.js';
import { VerifyError } from '../../src/errors.js';
import { listTarEntries, type TarEntryInfo } from '../../src/layer/index.js';
import { readAttachments } from '../../src/oci/attachments.js';
import { Layout } from '../../src/oci/layout.js';
import { buildRecipe, REPORT_FILE, type BuildResult } from '../../src/pipeline/build.js';
import { readVerificationKeys } from '../../src/pgp/keys.js';
import { BUILD_ROOT_ANNOTATION } from '../../src/provenance/statement.js';
import { verifyLayout } from '../../src/verify/verify-layout.js';
import { RECIPES_DIR } from '../helpers/paths.js';
import { isolatedPodman, type Podman } from '../helpers/podman.js';
import { sharedBuild, testBuildOptions } from '../helpers/shared-build.js';
import { tempDir } from '../helpers/tmp.js';
import { testKey, type TestKey } from '../sign/helpers/keys.js';

const MINUTES = 60_000;
const MiB = 1024 * 1024;
const IDENTITY = '127.0.0.1:5000/base/static-hello:1';

let tmp: string;
let podman: Podman;
let key: TestKey;
let staticBuild: BuildResult;
let baseBuild: BuildResult;
let hello: BuildResult;
let child: BuildResult;

// Reads SSL_CERT_FILE as a TLS library would find it, counts the PEM certificates whose DER
// starts as an X.509 SEQUENCE does ("MII"), and reports its uid and whether /bin/sh exists.
const HELLO_C = `#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(void) {
  const char *f = getenv("SSL_CERT_FILE");
  if (f == NULL) { puts("no SSL_CERT_FILE"); return 2; }
  FILE *fp = fopen(f, "r");
  if (fp == NULL) { perror(f); return 3; }
  char line[4096];
  int begin = 0, der = 0, end = 0, first = 0;
  while (fgets(line, sizeof line, fp) != NULL) {
    if (first && strncmp(line, "MII", 3) == 0) der++;
    first = strncmp(line, "-----BEGIN CERTIFICATE-----", 27) == 0;
    if (first) begin++;
    if (strncmp(line, "-----END CERTIFICATE-----", 25) == 0) end++;
  }
  printf("uid=%d gid=%d certs=%d der=%d end=%d sh=%s\\n", (int)getuid(), (int)getgid(), begin, der, end, access("/bin/sh", F_OK) == 0 ? "present" : "absent");
  return begin > 100 && begin == der && begin == end ? 0 : 4;
}
`;

beforeAll(async () => {
  tmp = await tempDir('imgfactory-distroless-');
  podman = await isolatedPodman(join(tmp, 'podman'));
  key = await testKey('ed25519');
  staticBuild = await sharedBuild('static');
  baseBuild = await sharedBuild('base');

  // A recipe of the test's own: static's contents plus a static C program in a `files` entry.
  const recipes = join(tmp, 'recipes');
  await cp(RECIPES_DIR, recipes, { recursive: true });
  await writeFile(join(tmp, 'hello.c'), HELLO_C);
  await execa('gcc', ['-static', '-O2', '-o', join(recipes, 'hello'), join(tmp, 'hello.c')]);
  await writeFile(
    join(recipes, 'static-hello.ts'),
    `import { defineRecipe } from 'imgfactory';
import { distrolessConfig, nonroot, staticContents } from './lib/common.js';
export default defineRecipe({
  name: 'static-hello',
  version: '1.0.0',
  suite: 'bookworm',
  contents: staticContents,
  layers: [
    { name: 'nonroot', users: [nonroot] },
    { name: 'hello', files: [{ src: 'hello', dest: '/usr/local/bin/hello', mode: '0755' }] },
  ],
  slim: true,
  config: { ...distrolessConfig('static-hello'), entrypoint: ['/usr/local/bin/hello'] },
});
`,
  );
  // The way an application image uses static: from: it, adding only a file.
  await writeFile(
    join(recipes, 'static-child.ts'),
    `export default { name: 'static-child', version: '1.0.0', suite: 'bookworm', from: './static.ts',
  layers: [{ name: 'hello', files: [{ src: 'hello', dest: '/usr/local/bin/hello', mode: '0755' }] }],
  config: { user: '65532:65532', env: { SSL_CERT_FILE: '/etc/ssl/certs/ca-certificates.crt' }, entrypoint: ['/usr/local/bin/hello'] } };\n`,
  );
  // Its parent is the static this run built (same recipe bytes), copied so that it is reused, not rebuilt.
  const out = join(tmp, 'out');
  await cp(staticBuild.report.layoutDir, join(out, 'static'), { recursive: true });
  const report = JSON.parse(await readFile(join(out, 'static', REPORT_FILE), 'utf8')) as { layoutDir: string };
  await writeFile(join(out, 'static', REPORT_FILE), JSON.stringify({ ...report, layoutDir: join(out, 'static') }));
  child = await buildRecipe(testBuildOptions(join(recipes, 'static-child.ts'), out));

  hello = await buildRecipe(
    testBuildOptions(join(recipes, 'static-hello.ts'), join(tmp, 'out'), {
      signing: {
        key: key.signing,
        identities: [IDENTITY],
        creator: 'imgfactory test',
        builder: { id: 'https://imgfactory.dev/builder/test', version: '0.0.0' },
        displayBase: tmp,
      },
    }),
  );
}, 30 * MINUTES);

/** The one layer of a built image, its entries as the tar lists them. */
async function layerEntries(build: BuildResult): Promise<TarEntryInfo[]> {
  const layers = build.report.platforms[0]!.layers;
  expect(layers).toHaveLength(1);
  const layout = await Layout.open(build.report.layoutDir);
  return listTarEntries(layout.blobPath(layers[0]!.digest));
}

/** The image's dpkg database: every stanza file under var/lib/dpkg/status.d, and no status. */
async function imageStatus(build: BuildResult): Promise<{ rootfs: string; entries: DpkgStatusEntry[] }> {
  const bundle = join(tmp, `bundle-${build.recipe.name}-${Math.random().toString(36).slice(2)}`);
  await execa('umoci', ['raw', 'unpack', '--image', `${build.report.layoutDir}:${build.report.ref}`, bundle]);
  await expect(stat(join(bundle, 'var/lib/dpkg/status'))).rejects.toThrow();
  const dir = join(bundle, 'var/lib/dpkg/status.d');
  const entries: DpkgStatusEntry[] = [];
  for (const name of (await readdir(dir)).sort()) {
    if (name.endsWith('.md5sums')) continue;
    const [e, ...rest] = parseDpkgStatus(await readFile(join(dir, name), 'utf8'));
    expect(rest, name).toEqual([]);
    expect(e!.package, name).toBe(name);
    entries.push(e!);
  }
  return { rootfs: bundle, entries };
}

/** The paths of a package's .deb, fetched from the mirror and checked against the verified manifest first. */
async function debPaths(manifest: VerifiedPackageManifest, pkg: string): Promise<string[]> {
  const p = manifest.packages.find((x) => x.package === pkg);
  expect(p, `${pkg} in packages.json`).toBeDefined();
  const res = await fetch(`${p!.archiveUrl}/${p!.filename}`);
  expect(res.ok, `${p!.archiveUrl}/${p!.filename}`).toBe(true);
  const bytes = Buffer.from(await res.arrayBuffer());
  expect(createHash('sha256').update(bytes).digest('hex')).toBe(p!.sha256);
  const file = join(tmp, `${pkg}.deb`);
  await writeFile(file, bytes);
  const { stdout } = await execa('dpkg-deb', ['--fsys-tarfile', file], { encoding: 'buffer' });
  await writeFile(`${file}.tar`, stdout);
  return (await listTarEntries(`${file}.tar`)).map((e) => e.name.replace(/^\.?\//, '').replace(/\/$/, '')).filter((n) => n !== '' && n !== '.');
}

/**
 * Every entry of the image's layer is a path some listed package's .deb carries, or a declared
 * extra (generated files, recipe files, homes, status.d), or a directory above one of those.
 * The image's own top-level links (`lib -> usr/lib` on merged /usr) map a .deb's `lib/...` to
 * where the file is.
 */
async function proveEveryEntry(build: BuildResult, extra: readonly string[]): Promise<{ entries: number; unpacked: number }> {
  const entries = await layerEntries(build);
  const { entries: status } = await imageStatus(build);
  const topLinks = new Map(entries.filter((e) => e.type === 'symlink' && !e.name.includes('/')).map((e) => [e.name, e.linkname!.replace(/^\//, '')]));
  const allowed = new Set<string>(extra.map((p) => p.replace(/^\//, '')));
  for (const e of status) allowed.add(`var/lib/dpkg/status.d/${e.package}`).add(`var/lib/dpkg/status.d/${e.package}.md5sums`);
  for (const e of status) {
    for (const path of await debPaths(build.packageManifest, e.package)) {
      allowed.add(path);
      const [head, ...rest] = path.split('/');
      const link = topLinks.get(head!);
      if (link !== undefined && rest.length > 0) allowed.add([link, ...rest].join('/'));
    }
  }
  const names = entries.map((e) => e.name.replace(/\/$/, ''));
  const present = new Set(names);
  const dirsAbove = new Set<string>();
  for (const n of names) if (allowed.has(n)) for (let p = n; p.includes('/');) dirsAbove.add((p = p.slice(0, p.lastIndexOf('/'))));
  const stray = entries.filter((e) => {
    const n = e.name.replace(/\/$/, '');
    return !allowed.has(n) && !(e.type === 'directory' && dirsAbove.has(n));
  });
  expect(
    stray.map((e) => e.name),
    'entries from no listed package',
  ).toEqual([]);
  for (const p of extra) expect(present.has(p.replace(/^\//, '')), p).toBe(true);
  // Each md5sums file beside a stanza names only files of the image, with their real MD5.
  const { rootfs } = await imageStatus(build);
  for (const e of status) {
    const sums = await readFile(join(rootfs, `var/lib/dpkg/status.d/${e.package}.md5sums`), 'utf8');
    for (const line of sums.split('\n').filter(Boolean)) {
      const [md5, path] = line.split(/ {2}(.+)/) as [string, string];
      expect(
        createHash('md5')
          .update(await readFile(join(rootfs, path)))
          .digest('hex'),
        path,
      ).toBe(md5);
    }
  }
  return { entries: entries.length, unpacked: entries.reduce((n, e) => n + e.size, 0) };
}

describe('images assembled from a package set', () => {
  it(
    'static: one layer ≤ 2.5 MiB of base-files, netbase, tzdata, ca-certificates and the declared generated files; no libc, no shell',
    async () => {
      const layer = staticBuild.report.platforms[0]!.layers[0]!;
      expect(layer.size).toBeLessThanOrEqual(2.5 * MiB);
      const { entries } = await imageStatus(staticBuild);
      expect(entries.map((e) => e.package)).toEqual(['base-files', 'ca-certificates', 'netbase', 'tzdata']);
      await proveEveryEntry(staticBuild, [...staticBuild.recipe.contents!.generated, '/home/nonroot']);
      const names = new Set((await layerEntries(staticBuild)).map((e) => e.name));
      for (const p of ['bin/sh', 'usr/bin/sh', 'usr/bin/dash', 'usr/bin/bash', 'usr/bin/dpkg', 'usr/bin/apt-get', 'usr/lib/x86_64-linux-gnu/libc.so.6']) {
        expect(names.has(p), p).toBe(false);
      }
      expect(names.has('usr/share/zoneinfo/UTC')).toBe(true);
    },
    30 * MINUTES,
  );

  it(
    'base: static + libc6, libssl3 and the gcc runtime, ≤ 9 MiB, every file from a listed package',
    async () => {
      const layer = baseBuild.report.platforms[0]!.layers[0]!;
      expect(layer.size).toBeLessThanOrEqual(9 * MiB);
      const { entries } = await imageStatus(baseBuild);
      expect(entries.map((e) => e.package)).toEqual(['base-files', 'ca-certificates', 'gcc-12-base', 'libc6', 'libgcc-s1', 'libssl3', 'netbase', 'tzdata']);
      await proveEveryEntry(baseBuild, [...baseBuild.recipe.contents!.generated, '/home/nonroot']);
      const names = new Set((await layerEntries(baseBuild)).map((e) => e.name));
      expect(names.has('usr/lib/x86_64-linux-gnu/libc.so.6')).toBe(true);
      expect(names.has('usr/lib/x86_64-linux-gnu/libssl.so.3')).toBe(true);
      expect(names.has('bin/sh') || names.has('usr/bin/sh')).toBe(false);
    },
    30 * MINUTES,
  );

  it(
    'the SBOM lists exactly the packages of status.d; provenance also records the build root, marked as such',
    async () => {
      const { entries } = await imageStatus(hello);
      const installed = entries
        .filter(hasFilesOnDisk)
        .map((e) => `${e.package}:${e.architecture}=${e.version}`)
        .sort();
      const layout = await Layout.open(hello.report.layoutDir);
      const image = layout.resolve(hello.report.ref);
      const [sbom] = await readAttachments(layout, image.digest, 'sbom', (m) => new VerifyError('SBOM_INVALID', m));
      const spdx = JSON.parse(sbom!.layers[0]!.bytes.toString('utf8')) as {
        packages: { externalRefs?: { referenceType: string; referenceLocator: string }[] }[];
      };
      const fromSbom = spdx.packages
        .flatMap((p) => (p.externalRefs ?? []).filter((r) => r.referenceType === 'purl').map((r) => r.referenceLocator))
        .filter((p) => p.startsWith('pkg:deb/'))
        .map((p) => decodeURIComponent(p.replace(/^pkg:deb\/debian\/([^@]+)@([^?]+)\?arch=([^&]+).*$/, '$1:$3=$2')))
        .sort();
      expect(fromSbom).toEqual(installed);
      expect(installed).toHaveLength(4);

      const [prov] = await readAttachments(layout, image.digest, 'provenance', (m) => new VerifyError('PROVENANCE_INVALID', m));
      const envelope = JSON.parse(prov!.layers[0]!.bytes.toString('utf8')) as { payload: string };
      const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')) as {
        predicate: { buildDefinition: { resolvedDependencies: { name?: string; annotations?: Record<string, string> }[] } };
      };
      const buildRootOnly = statement.predicate.buildDefinition.resolvedDependencies
        .filter((d) => d.annotations?.[BUILD_ROOT_ANNOTATION.key] === BUILD_ROOT_ANNOTATION.value)
        .map((d) => decodeURIComponent(d.name!.replace(/^pkg:deb\/debian\/([^@]+)@.*$/, '$1')));
      // The build root had the minbase system (dpkg, apt, a shell) and ca-certificates' dependencies.
      for (const p of ['dpkg', 'apt', 'dash', 'openssl']) expect(buildRootOnly).toContain(p);
      for (const p of ['base-files', 'tzdata']) expect(buildRootOnly).not.toContain(p);

      // The verifier agrees: signature, provenance and SBOM describe the same image and packages.
      const report = await verifyLayout({ layout, keys: await readVerificationKeys([key.publicKeyArmored]), identity: IDENTITY });
      expect(report.sbom).toEqual({ format: 'spdx', packages: 4 });
      expect(report.provenance?.packages).toBe(4);
    },
    30 * MINUTES,
  );

  it(
    'a gcc -static program added by a child recipe (from: static) runs under podman as uid 65532 and reads the CA bundle; there is no /bin/sh',
    async () => {
      // The child reuses static's layer byte for byte and adds only the program: no apt or dpkg configuration.
      const layers = child.report.platforms[0]!.layers;
      expect(layers.map((l) => l.digest)).toEqual([staticBuild.report.platforms[0]!.layers[0]!.digest, layers[1]!.digest]);
      const layout = await Layout.open(child.report.layoutDir);
      const own = await listTarEntries(layout.blobPath(layers[1]!.digest));
      expect(own.map((e) => e.name)).toEqual(['usr/', 'usr/local/', 'usr/local/bin/', 'usr/local/bin/hello']);
      expect(child.packageManifest.packages.map((p) => p.package)).toEqual(['base-files', 'ca-certificates', 'netbase', 'tzdata']);

      const bundle = join(tmp, 'bundle-child');
      await execa('umoci', ['raw', 'unpack', '--image', `${child.report.layoutDir}:${child.report.ref}`, bundle]);
      await expect(stat(join(bundle, 'bin/sh'))).rejects.toThrow();
      await expect(stat(join(bundle, 'usr/bin/sh'))).rejects.toThrow();

      // podman names the image after the layout's path, which must be lowercase; the temp dir's name is not.
      const layoutCopy = join(tmpdir(), `imgfactory-distroless-${randomBytes(6).toString('hex')}`);
      await cp(child.report.layoutDir, layoutCopy, { recursive: true });
      try {
        await podman.run(['pull', '-q', `oci:${layoutCopy}:${child.report.ref}`]);
      } finally {
        await rm(layoutCopy, { recursive: true, force: true });
      }
      const id = (await podman.run(['images', '-q'])).stdout.trim().split('\n')[0]!;
      const out = await podman.run(['run', '--rm', '--network', 'none', id], { reject: false });
      expect(out.stderr).toBe('');
      expect(out.exitCode).toBe(0);
      expect(out.stdout).toMatch(/^uid=65532 gid=65532 certs=(\d+) der=\1 end=\1 sh=absent$/m);
      expect(Number(/certs=(\d+)/.exec(out.stdout)![1])).toBeGreaterThan(100);

      const shell = await podman.run(['run', '--rm', '--network', 'none', '--entrypoint', '/bin/sh', id, '-c', 'true'], { reject: false });
      expect(shell.exitCode).not.toBe(0);
    },
    30 * MINUTES,
  );

  it(
    'a recipe file copied into an assembled image is part of it: every entry still proven',
    async () => {
      await proveEveryEntry(hello, [...hello.recipe.contents!.generated, '/home/nonroot', '/usr/local/bin/hello']);
    },
    30 * MINUTES,
  );
});
