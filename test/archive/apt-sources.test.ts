import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAptSources, securitySibling, selectArchiveMirrors } from '../../src/archive/apt-sources.js';
import { hostArchiveMirrors } from '../../src/archive/host-mirror.js';
import { codeOf } from '../helpers/error-code.js';

// Reserved names (RFC 2606 .invalid): no real mirror is named in tests.
const MAIN = 'http://archive.invalid/debian';
const SEC = 'https://security.invalid/debian-security';

const DEB822 = `# the main archive
Types: deb deb-src
URIs: ${MAIN}/
Suites: bookworm bookworm-updates
Components: main contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${SEC}
Suites: bookworm-security
Components: main

Enabled: no
Types: deb
URIs: http://disabled.invalid/debian
Suites: trixie
Components: main
`;

const LIST = `# comment
deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${MAIN} bookworm main contrib
deb-src ${MAIN} bookworm main
deb ${SEC} bookworm-security main # trailing comment
`;

describe('parseAptSources', () => {
  it('reads deb822 .sources, with comments and Enabled: no', () => {
    const s = parseAptSources(DEB822, 'deb822');
    expect(s).toHaveLength(3);
    expect(s[0]).toEqual({
      types: ['deb', 'deb-src'],
      uris: [`${MAIN}/`],
      suites: ['bookworm', 'bookworm-updates'],
      components: ['main', 'contrib'],
      enabled: true,
    });
    expect(s[2]!.enabled).toBe(false);
  });

  it('reads one-line .list entries with [options]', () => {
    const s = parseAptSources(LIST, 'list');
    expect(s.map((e) => [e.types[0], e.uris[0], e.suites[0], e.components.join(' ')])).toEqual([
      ['deb', MAIN, 'bookworm', 'main contrib'],
      ['deb-src', MAIN, 'bookworm', 'main'],
      ['deb', SEC, 'bookworm-security', 'main'],
    ]);
  });
});

describe('selectArchiveMirrors', () => {
  it('picks the plain-suite mirror and the security mirror, without trailing slashes', () => {
    expect(selectArchiveMirrors(parseAptSources(DEB822, 'deb822'))).toEqual({ mirror: MAIN, securityMirror: SEC });
    expect(selectArchiveMirrors(parseAptSources(LIST, 'list'))).toEqual({ mirror: MAIN, securityMirror: SEC });
  });

  it('derives the -security sibling when no security entry exists', () => {
    const only = parseAptSources(`deb ${MAIN} trixie main\n`, 'list');
    expect(selectArchiveMirrors(only)).toEqual({ mirror: MAIN, securityMirror: `${MAIN}-security` });
    expect(securitySibling(`${MAIN}/`)).toBe(`${MAIN}-security`);
  });

  it('ignores disabled, deb-src-only and non-http entries; MIRROR_UNKNOWN when nothing is left', () => {
    const none = parseAptSources(`deb-src ${MAIN} bookworm main\ndeb file:/srv/debian bookworm main\ndeb cdrom:[x]/ bookworm main\n`, 'list');
    expect(codeOf(() => selectArchiveMirrors(none))).toBe('MIRROR_UNKNOWN');
    const disabled = parseAptSources('Enabled: no\nTypes: deb\nURIs: http://x.invalid/debian\nSuites: bookworm\n', 'deb822');
    expect(codeOf(() => selectArchiveMirrors(disabled))).toBe('MIRROR_UNKNOWN');
  });
});

describe('hostArchiveMirrors', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  async function aptDir(files: Record<string, string>): Promise<string> {
    const d = await mkdtemp(join(tmpdir(), 'imgf-apt-'));
    dirs.push(d);
    await mkdir(join(d, 'sources.list.d'));
    for (const [name, text] of Object.entries(files)) await writeFile(join(d, name), text);
    return d;
  }

  it('reads sources.list.d/*.sources', async () => {
    const d = await aptDir({ 'sources.list.d/debian.sources': DEB822, 'sources.list.d/other.list.disabled': `deb http://x.invalid/d sid main\n` });
    expect(await hostArchiveMirrors({ aptDir: d })).toEqual({ mirror: MAIN, securityMirror: SEC });
  });

  it('reads sources.list', async () => {
    const d = await aptDir({ 'sources.list': LIST });
    expect(await hostArchiveMirrors({ aptDir: d })).toEqual({ mirror: MAIN, securityMirror: SEC });
  });

  it('MIRROR_UNKNOWN for an apt directory without sources', async () => {
    const d = await aptDir({});
    await expect(hostArchiveMirrors({ aptDir: d })).rejects.toMatchObject({ code: 'MIRROR_UNKNOWN' });
  });

  it("finds this host's mirrors", async () => {
    const m = await hostArchiveMirrors();
    expect(m.mirror).toMatch(/^https?:\/\/[^/]+/);
    expect(m.securityMirror).toMatch(/^https?:\/\/[^/]+/);
    expect(m.mirror.endsWith('/')).toBe(false);
  });
});
