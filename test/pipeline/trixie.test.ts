/**
 * The shipped trixie recipe builds, through the CLI process as users run it: real debootstrap of
 * trixie against the host's mirror, verified against the pinned trixie keys. The same run shows
 * what the environment does to a build: SOURCE_DATE_EPOCH clamps the image's dates and is
 * recorded, with no cache flags both caches go under XDG_CACHE_HOME, and the GITHUB_* run
 * variables become the signed provenance's builder and invocation.
 */
import { cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import type { VerifiedPackageManifest } from '../../src/archive/package-manifest.js';
import type { BuildReport } from '../../src/image/build-output.js';
import { Layout } from '../../src/oci/layout.js';
import { readAttachments } from '../../src/oci/attachments.js';
import { VerifyError } from '../../src/errors.js';
import { generateSigningKey, readVerificationKeys, type GeneratedSigningKey } from '../../src/pgp/keys.js';
import { verifyDsse } from '../../src/provenance/dsse.js';
import { RECIPES_DIR, REPO_ROOT } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';

const MINUTES = 60_000;
/** 2025-01-01T00:00:00Z: before any trixie package file, so every timestamp is clamped to it. */
const SDE = 1_735_689_600;
let tmp: string;
let out: string;
let xdg: string;
let run: { exitCode?: number; stderr: unknown; stdout: unknown };
let key: GeneratedSigningKey;
const IDENTITY = '127.0.0.1:5000/base/debian-trixie-minimal:13';
const GITHUB_ENV = {
  GITHUB_SERVER_URL: 'https://github.invalid',
  GITHUB_REPOSITORY: 'org/images',
  GITHUB_RUN_ID: '777',
  GITHUB_RUN_ATTEMPT: '1',
  GITHUB_WORKFLOW_REF: 'org/images/.github/workflows/build.yml@refs/heads/main',
};

beforeAll(async () => {
  tmp = await tempDir('imgfactory-trixie-');
  // A copy of recipes/: the build writes its lock file beside the recipe.
  await cp(RECIPES_DIR, join(tmp, 'recipes'), { recursive: true });
  out = join(tmp, 'out');
  xdg = join(tmp, 'xdg');
  await mkdir(xdg);
  // Signed, as the scheduled workflow builds: the GITHUB_* run variables name the builder.
  key = await generateSigningKey({ name: 'Trixie Test', email: 'trixie@imgfactory.invalid', type: 'ed25519' });
  await writeFile(join(tmp, 'secret.asc'), key.privateKeyArmored, { mode: 0o600 });
  run = await execa(
    'node',
    [
      join(REPO_ROOT, 'bin/imgfactory.js'),
      'build',
      join(tmp, 'recipes/debian-trixie-minimal.ts'),
      '--out',
      out,
      '--work-dir',
      join(tmp, 'work'),
      '--key',
      join(tmp, 'secret.asc'),
      '--identity',
      IDENTITY,
    ],
    { reject: false, env: { ...process.env, SOURCE_DATE_EPOCH: String(SDE), XDG_CACHE_HOME: xdg, ...GITHUB_ENV } },
  );
}, 30 * MINUTES);

describe('build recipes/debian-trixie-minimal.ts (CLI)', () => {
  it('exits 0 and writes a trixie image audited against trixie indexes', async () => {
    expect(run.exitCode, String(run.stderr)).toBe(0);
    const dir = join(out, 'debian-trixie-minimal');
    const manifest = JSON.parse(await readFile(join(dir, 'packages.json'), 'utf8')) as VerifiedPackageManifest;
    expect(manifest.suite).toBe('trixie');
    expect(manifest.inReleases.map((r) => r.suite).sort()).toEqual(['trixie', 'trixie-security', 'trixie-updates']);
    const report = JSON.parse(await readFile(join(dir, 'build.json'), 'utf8')) as BuildReport;
    expect(report.debsAudited).toBeGreaterThanOrEqual(manifest.packages.length);
    const bundle = join(tmp, 'bundle');
    await execa('umoci', ['unpack', '--image', `${dir}:${report.ref}`, bundle]);
    expect(await readFile(join(bundle, 'rootfs/etc/debian_version'), 'utf8')).toMatch(/^13\./);
    expect(await readFile(join(bundle, 'rootfs/etc/passwd'), 'utf8')).toMatch(/^app:x:1000:1000:/m);
  });

  it("SOURCE_DATE_EPOCH from the environment is the build's epoch and the image's creation date", async () => {
    const dir = join(out, 'debian-trixie-minimal');
    const report = JSON.parse(await readFile(join(dir, 'build.json'), 'utf8')) as BuildReport;
    expect(report.sourceDateEpoch).toBe(SDE);
    const image = await (await Layout.open(dir)).image({ tag: report.ref });
    expect(image.config.created).toBe('2025-01-01T00:00:00Z');
    expect(image.manifest.annotations?.['org.opencontainers.image.created']).toBe('2025-01-01T00:00:00Z');
  });

  it('with no cache flags, the archive and .deb caches are under XDG_CACHE_HOME', async () => {
    expect((await readdir(join(xdg, 'imgfactory/archive/sha256'))).length).toBeGreaterThan(0);
    expect((await readdir(join(xdg, 'imgfactory/debs'))).length).toBeGreaterThan(0);
  });

  it('build --key in a GitHub Actions run: the provenance names the workflow and the run', async () => {
    const dir = join(out, 'debian-trixie-minimal');
    const layout = await Layout.open(dir);
    const report = JSON.parse(await readFile(join(dir, 'build.json'), 'utf8')) as BuildReport;
    const [prov] = await readAttachments(layout, report.manifestDigest, 'provenance', (m) => new VerifyError('PROVENANCE_INVALID', m));
    const verified = await verifyDsse(JSON.parse(prov!.layers[0]!.bytes.toString('utf8')), await readVerificationKeys([key.publicKeyArmored]));
    const statement = JSON.parse(Buffer.from(verified.payload).toString('utf8')) as {
      predicate: { runDetails: { builder: { id: string }; metadata: { invocationId?: string } } };
    };
    expect(statement.predicate.runDetails.builder.id).toBe('https://github.invalid/org/images/.github/workflows/build.yml@refs/heads/main');
    expect(statement.predicate.runDetails.metadata.invocationId).toBe('https://github.invalid/org/images/actions/runs/777/attempts/1');
  });
});
