/**
 * Recipe values that land in system files (passwd, group, dpkg and apt configuration, the
 * OCI config) are checked against that file's grammar; each error names the field.
 */
import { describe, expect, it } from 'vitest';
import { RecipeError } from '../../src/errors.js';
import { parseRecipe } from '../../src/recipe/load.js';
import { planBuilds } from '../../src/recipe/plan.js';

const opts = { hostArch: 'amd64', displayBase: '/r' };
const base = { name: 'demo', version: '1.0.0', suite: 'bookworm' };
const user = { name: 'app', uid: 1000 };

function problems(value: unknown): string[] {
  try {
    parseRecipe(value, '/r/demo.ts', 'ab', opts);
  } catch (e) {
    expect(e).toBeInstanceOf(RecipeError);
    expect((e as RecipeError).code).toBe('RECIPE_INVALID');
    expect((e as RecipeError).exitStatus).toBe(2);
    return (e as RecipeError).details.problems as string[];
  }
  throw new Error('recipe was accepted');
}

const withUser = (u: Record<string, unknown>) => ({ ...base, layers: [{ name: 'u', users: [{ ...user, ...u }] }] });
const withFile = (f: Record<string, unknown>, users: unknown[] = []) => ({ ...base, layers: [{ name: 'f', users, files: [{ src: 'x', dest: '/x', ...f }] }] });

describe('values that land in system files follow that file grammar', () => {
  const cases: [string, unknown, string][] = [
    // passwd / group
    ['a ":" in a user name', withUser({ name: 'evil:x:0:0' }), 'layers[0].users[0].name'],
    ['a newline in a user name', withUser({ name: 'evil\nroot' }), 'layers[0].users[0].name'],
    ['an upper-case user name', withUser({ name: 'App' }), 'layers[0].users[0].name'],
    ['a user name that starts with a digit', withUser({ name: '1app' }), 'layers[0].users[0].name'],
    ['a 33-character user name', withUser({ name: 'a'.repeat(33) }), 'layers[0].users[0].name'],
    ['a Debian system account name (daemon)', withUser({ name: 'daemon' }), 'layers[0].users[0].name'],
    ['a Debian system group name (audio)', withUser({ name: 'audio' }), 'layers[0].users[0].name'],
    ['uid 0 (a second root)', withUser({ uid: 0 }), 'layers[0].users[0].uid'],
    ['a base-passwd uid (5)', withUser({ uid: 5 }), 'layers[0].users[0].uid'],
    ["nobody's uid 65534", withUser({ uid: 65534 }), 'layers[0].users[0].uid'],
    ['a uid above 16 bits', withUser({ uid: 70000 }), 'layers[0].users[0].uid'],
    ['a fractional uid', withUser({ uid: 1000.5 }), 'layers[0].users[0].uid'],
    ['gid 0', withUser({ gid: 0 }), 'layers[0].users[0].gid'],
    ['a ":" in a home directory', withUser({ home: '/home/a:b' }), 'layers[0].users[0].home'],
    ['a newline in a home directory', withUser({ home: '/home/a\nroot::0:0::/:/bin/sh' }), 'layers[0].users[0].home'],
    ['a NUL in a shell', withUser({ shell: '/bin/sh\u0000' }), 'layers[0].users[0].shell'],
    ['a relative shell', withUser({ shell: 'bin/sh' }), 'layers[0].users[0].shell'],
    ['a "," in a supplementary group', withUser({ groups: ['audio,root'] }), 'layers[0].users[0].groups[0]'],
    ['a repeated supplementary group', withUser({ groups: ['audio', 'audio'] }), 'layers[0].users[0].groups'],
    // dpkg path-include/exclude lines
    ['a newline in a kept locale (dpkg config line)', { ...base, slim: { locales: ['de\npath-include=/*'] } }, 'slim.locales[0]'],
    ['a "/" or "*" in a kept locale', { ...base, slim: { locales: ['../*'] } }, 'slim.locales[0]'],
    ['a newline in a strip path', { ...base, strip: { paths: ['/usr/bin/x\n/etc'] } }, 'strip.paths[0]'],
    ['a relative remove path', { ...base, layers: [{ name: 'r', remove: { paths: ['etc/x'] } }] }, 'layers[0].remove.paths[0]'],
    // apt sources (deb822): a newline in a URL would add a field
    ['a newline in the mirror URL', { ...base, mirror: 'http://mirror.invalid/debian\nSigned-By: /tmp/k' }, 'mirror'],
    ['whitespace in the security mirror URL', { ...base, securityMirror: 'http://a.invalid/ x' }, 'securityMirror'],
    ['a non-http mirror', { ...base, mirror: 'file:///srv/debian' }, 'mirror'],
    // ports
    ['port 0', { ...base, config: { ports: [0] } }, 'config.ports[0]'],
    ['port 65536', { ...base, config: { ports: ['65536/tcp'] } }, 'config.ports[0]'],
    ['port 99999 as a string', { ...base, config: { ports: ['99999'] } }, 'config.ports[0]'],
    ['an sctp or unknown protocol', { ...base, config: { ports: ['80/sctp'] } }, 'config.ports[0]'],
    // owners and modes
    ['an owner naming an unknown user', withFile({ owner: 'ghost:root' }), 'layers[0].files[0].owner'],
    ['an owner naming an unknown group', withFile({ owner: 'root:ghosts' }), 'layers[0].files[0].owner'],
    ['an owner id above 65534', withFile({ owner: '70000:0' }), 'layers[0].files[0].owner'],
    ['an owner with a newline', withFile({ owner: '0:0\n' }), 'layers[0].files[0].owner'],
    ['a mode above 07777', withFile({ mode: 0o10000 }), 'layers[0].files[0].mode'],
    ['a non-octal mode string', withFile({ mode: '0x1ff' }), 'layers[0].files[0].mode'],
    ['a files dest with ".."', withFile({ dest: '/etc/../../x' }), 'layers[0].files[0].dest'],
    // OCI config
    ['an env name with "="', { ...base, config: { env: { 'A=B': 'x' } } }, 'config.env.A=B'],
    ['a NUL in an env value', { ...base, config: { env: { A: 'x\u0000y' } } }, 'config.env.A'],
    ['a newline in a label key', { ...base, config: { labels: { 'a\nb': 'x' } } }, 'config.labels."a\\nb"'],
    ['an empty label key', { ...base, config: { labels: { '': 'x' } } }, 'config.labels.'],
    ['a config user with spaces', { ...base, config: { user: 'app user' } }, 'config.user'],
    ['a NUL in cmd', { ...base, config: { cmd: ['/bin/sh', '-c', 'x\u0000'] } }, 'config.cmd[2]'],
    // identity
    ['a version with a leading v', { ...base, version: 'v1.0.0' }, 'version'],
    ['a very long name', { ...base, name: 'a'.repeat(200) }, 'name'],
    ['repeated publish tags', { ...base, publish: { repository: 'localhost:5000/a/b', tags: ['x', 'x'] } }, 'publish.tags'],
  ];
  it.each(cases)('refuses %s, naming the field', (_label, value, field) => {
    const lines = problems(value);
    expect(
      lines.some((l) => l.startsWith(`demo.ts: ${field}: `)),
      lines.join('\n'),
    ).toBe(true);
  });

  it('refuses the same user or uid twice, and two layers with one name', () => {
    const twice = {
      ...base,
      layers: [
        { name: 'a', users: [user] },
        { name: 'b', users: [user] },
      ],
    };
    expect(problems(twice).some((l) => l.startsWith('demo.ts: layers[1].users[0].name: '))).toBe(true);
    const sameUid = { ...base, layers: [{ name: 'a', users: [user, { name: 'other', uid: 1000 }] }] };
    expect(problems(sameUid).some((l) => l.startsWith('demo.ts: layers[0].users[1].uid: '))).toBe(true);
    const layers = { ...base, layers: [{ name: 'a' }, { name: 'a' }] };
    expect(problems(layers).some((l) => l.startsWith('demo.ts: layers[1].name: '))).toBe(true);
  });

  it('resolves owners by name: recipe users (their group too) and Debian system accounts', () => {
    const r = parseRecipe(withFile({ owner: 'app:app' }, [{ name: 'app', uid: 1000, gid: 1001 }]), '/r/demo.ts', 'ab', opts);
    expect(r.layers[0]!.files[0]).toMatchObject({ uid: 1000, gid: 1001 });
    const sys = parseRecipe(withFile({ owner: 'www-data:adm' }), '/r/demo.ts', 'ab', opts);
    expect(sys.layers[0]!.files[0]).toMatchObject({ uid: 33, gid: 4 });
    expect(problems(withFile({ owner: 'constructor:root' })).some((l) => l.includes('files[0].owner'))).toBe(true);
  });

  it('accepts the well-formed values', () => {
    const r = parseRecipe(
      {
        ...base,
        mirror: 'http://mirror.invalid/debian',
        layers: [{ name: 'u', users: [{ name: 'svc_1', uid: 100, gid: 65533, home: '/var/lib/svc', shell: '/bin/sh', groups: ['audio'] }] }],
        config: { user: '100:65533', ports: [1, '65535/udp', '8080'], env: { A_B: 'multi\nline' }, labels: { 'org.opencontainers.image.title': 'x' } },
        slim: { locales: ['pt_BR', 'sr@latin'] },
      },
      '/r/demo.ts',
      'ab',
      opts,
    );
    expect(r.config.ports).toEqual(['1/tcp', '65535/udp', '8080/tcp']);
  });
});

describe('a plan with two recipes of the same name', () => {
  it('is refused, naming both files', () => {
    const a = parseRecipe(base, '/r/a.ts', 'ab', opts);
    const b = parseRecipe(base, '/r/b.ts', 'ab', opts);
    try {
      planBuilds([a, b], '/r');
      throw new Error('accepted');
    } catch (e) {
      expect((e as RecipeError).code).toBe('RECIPE_DUPLICATE_NAME');
      expect((e as RecipeError).exitStatus).toBe(2);
      expect((e as RecipeError).message).toBe('b.ts: name: "demo" is also the name of a.ts');
    }
  });
});
