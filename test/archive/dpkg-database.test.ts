/** Reading a root's dpkg database: `status`, or a distroless image's `status.d` (md5sums beside the stanzas skipped). */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readDpkgDatabase } from '../../src/archive/audit-rootfs.js';
import { tempDir } from '../helpers/tmp.js';

const stanza = (pkg: string, version: string) => `Package: ${pkg}\nStatus: install ok installed\nArchitecture: all\nVersion: ${version}\n`;

async function root(files: Record<string, string>): Promise<string> {
  const dir = await tempDir('imgfactory-dpkgdb-');
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  return dir;
}

describe('readDpkgDatabase', () => {
  it('reads every stanza file of status.d in name order when there is no status, skipping md5sums', async () => {
    const dir = await root({
      'var/lib/dpkg/status.d/tzdata': stanza('tzdata', '2024a-0+deb12u1'),
      'var/lib/dpkg/status.d/tzdata.md5sums': 'd41d8cd98f00b204e9800998ecf8427e  usr/share/zoneinfo/UTC\n',
      'var/lib/dpkg/status.d/base-files': stanza('base-files', '12.4+deb12u7'),
    });
    expect((await readDpkgDatabase(dir)).map((e) => `${e.package}=${e.version}`)).toEqual(['base-files=12.4+deb12u7', 'tzdata=2024a-0+deb12u1']);
    await expect(readDpkgDatabase(dir, 'status')).rejects.toMatchObject({ code: 'AUDIT_STATUS_UNREADABLE' });
  });

  it('prefers status when both exist (a build root whose image is assembled), and reads status.d when told', async () => {
    const dir = await root({
      'var/lib/dpkg/status': `${stanza('dpkg', '1.21.22')}\n${stanza('tzdata', '2024a-0+deb12u1')}`,
      'var/lib/dpkg/status.d/tzdata': stanza('tzdata', '2024a-0+deb12u1'),
    });
    expect((await readDpkgDatabase(dir)).map((e) => e.package)).toEqual(['dpkg', 'tzdata']);
    expect((await readDpkgDatabase(dir, 'status.d')).map((e) => e.package)).toEqual(['tzdata']);
  });

  it('refuses a root with neither, and a status.d file that is not a status stanza', async () => {
    await expect(readDpkgDatabase(await root({ 'etc/hostname': 'x\n' }))).rejects.toMatchObject({ code: 'AUDIT_STATUS_UNREADABLE' });
    const bad = await root({ 'var/lib/dpkg/status.d/evil': 'Package: evil\n' });
    await expect(readDpkgDatabase(bad)).rejects.toMatchObject({ code: 'AUDIT_STATUS_UNREADABLE' });
  });
});
