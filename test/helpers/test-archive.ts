/**
 * A controlled Debian archive, made with Debian's own tools: tiny packages built with
 * dpkg-deb, indexes and Release files written by apt-ftparchive, InRelease clear-signed by gpg
 * with a key generated for the test, served over loopback HTTP with every request counted.
 * Suites `<suite>`, `<suite>-updates`, `<suite>-security` live under one archive root (the
 * tests pass it as both --mirror and --security-mirror).
 */
import { createReadStream } from 'node:fs';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';
import { gzipSync } from 'node:zlib';
import { run } from '../../src/exec.js';

export interface TestPackage {
  readonly name: string;
  readonly version: string;
  /** A Debian architecture or `all`. */
  readonly architecture: string;
  readonly source?: string;
}

export interface ReleaseDates {
  readonly date?: Date;
  readonly validUntil?: Date;
}

export interface TestArchive {
  readonly url: string;
  readonly root: string;
  readonly keysDir: string;
  /** Paths requested, in order (e.g. `/dists/testsuite/InRelease`). */
  readonly requests: string[];
  /** Build `pkg` into the pool of `suite` (and re-publish that suite's indexes, signed). */
  publish(suite: string, pkgs: readonly TestPackage[], dates?: ReleaseDates): Promise<void>;
  /** Re-sign a suite's Release with new dates (a new InRelease, same indexes). */
  resign(suite: string, dates: ReleaseDates): Promise<void>;
  /**
   * Publish `files` (e.g. `{ Packages, 'Packages.xz' }`) as the whole `main/binary-<arch>/` of
   * `suite`, byte for byte, and sign a Release over them: for indexes apt-ftparchive would not
   * write (invalid UTF-8, corrupt compression, one compression only).
   */
  publishIndexFiles(suite: string, files: Readonly<Record<string, Uint8Array>>): Promise<void>;
  close(): Promise<void>;
}

const releaseDate = (d: Date) => d.toUTCString().replace('GMT', 'UTC');

export async function startTestArchive(dir: string, arch: string): Promise<TestArchive> {
  const root = join(dir, 'archive');
  const gnupg = join(dir, 'gnupg');
  const keysDir = join(dir, 'keys');
  await mkdir(root, { recursive: true });
  await mkdir(gnupg, { recursive: true, mode: 0o700 });
  await mkdir(keysDir, { recursive: true });
  const gpg = (args: string[]) => run(['gpg', '--homedir', gnupg, '--batch', '--quiet', '--pinentry-mode', 'loopback', '--passphrase', '', ...args]);
  await gpg(['--quick-gen-key', 'imgfactory test archive <archive@test.invalid>', 'ed25519', 'sign', '0']);
  const exported = await gpg(['--armor', '--export']);
  await writeFile(join(keysDir, 'test-archive.asc'), exported.stdout);

  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(path);
    const file = normalize(join(root, path));
    if (!file.startsWith(root)) {
      res.writeHead(403).end();
      return;
    }
    stat(file).then(
      (s) => {
        if (!s.isFile()) return void res.writeHead(404).end();
        res.writeHead(200, { 'content-length': s.size });
        createReadStream(file).pipe(res);
      },
      () => void res.writeHead(404).end(),
    );
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/debian`;
  const debianRoot = join(root, 'debian');
  await mkdir(debianRoot, { recursive: true });

  async function buildDeb(suite: string, p: TestPackage): Promise<void> {
    const work = join(dir, 'debs', `${p.name}_${p.version}_${p.architecture}`);
    await rm(work, { recursive: true, force: true });
    await mkdir(join(work, 'DEBIAN'), { recursive: true });
    await mkdir(join(work, 'usr/share/doc', p.name), { recursive: true });
    await writeFile(join(work, 'usr/share/doc', p.name, 'VERSION'), `${p.name} ${p.version}\n`);
    await writeFile(
      join(work, 'DEBIAN/control'),
      [
        `Package: ${p.name}`,
        `Version: ${p.version}`,
        `Architecture: ${p.architecture}`,
        ...(p.source ? [`Source: ${p.source}`] : []),
        'Maintainer: imgfactory tests <tests@test.invalid>',
        `Description: test package ${p.name}`,
        '',
      ].join('\n'),
    );
    const pool = join(debianRoot, 'pool', suite);
    await mkdir(pool, { recursive: true });
    await run(['dpkg-deb', '--root-owner-group', '-Zgzip', '--build', work, join(pool, `${p.name}_${p.version.replace(/^\d+:/, '')}_${p.architecture}.deb`)]);
  }

  async function writeRelease(suite: string, dates: ReleaseDates = {}): Promise<void> {
    const dists = join(debianRoot, 'dists', suite);
    const opts = [
      `APT::FTPArchive::Release::Codename=${suite}`,
      `APT::FTPArchive::Release::Suite=${suite}`,
      'APT::FTPArchive::Release::Components=main',
      `APT::FTPArchive::Release::Architectures=${arch} all`,
      ...(dates.date ? [`APT::FTPArchive::Release::Date=${releaseDate(dates.date)}`] : []),
      // apt-ftparchive writes a Valid-Until only when ValidTime is set; an explicit one wins over now + ValidTime.
      ...(dates.validUntil ? ['APT::FTPArchive::Release::ValidTime=1', `APT::FTPArchive::Release::Valid-Until=${releaseDate(dates.validUntil)}`] : []),
    ].flatMap((o) => ['-o', o]);
    await rm(join(dists, 'Release'), { force: true });
    await rm(join(dists, 'InRelease'), { force: true });
    const release = await run(['apt-ftparchive', ...opts, 'release', dists]);
    await writeFile(join(dists, 'Release'), release.stdout);
    await gpg(['--yes', '--clearsign', '--digest-algo', 'SHA512', '--output', join(dists, 'InRelease'), join(dists, 'Release')]);
  }

  return {
    url,
    root,
    keysDir,
    requests,
    async publish(suite, pkgs, dates) {
      for (const p of pkgs) await buildDeb(suite, p);
      const index = join(debianRoot, 'dists', suite, 'main', `binary-${arch}`);
      await mkdir(index, { recursive: true });
      const pool = join(debianRoot, 'pool', suite);
      await mkdir(pool, { recursive: true });
      // Filenames in the index are relative to the archive root, as in Debian's.
      const packages = (await readdir(pool)).length === 0 ? '' : (await run(['apt-ftparchive', 'packages', `pool/${suite}`], { cwd: debianRoot })).stdout;
      await writeFile(join(index, 'Packages'), packages);
      await writeFile(join(index, 'Packages.gz'), gzipSync(Buffer.from(packages)));
      await writeRelease(suite, dates);
    },
    resign: writeRelease,
    async publishIndexFiles(suite, files) {
      const index = join(debianRoot, 'dists', suite, 'main', `binary-${arch}`);
      await rm(index, { recursive: true, force: true });
      await mkdir(index, { recursive: true });
      for (const [name, bytes] of Object.entries(files)) await writeFile(join(index, name), bytes);
      await writeRelease(suite);
    },
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}
