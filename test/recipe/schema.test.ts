import { describe, expect, it } from 'vitest';
import { RecipeError } from '../../src/errors.js';
import { parseRecipe } from '../../src/recipe/load.js';

const opts = { hostArch: 'amd64', displayBase: '/r' };
const base = { name: 'demo', version: '1.0.0', suite: 'bookworm' };

function problems(value: unknown): string[] {
  try {
    parseRecipe(value, '/r/demo.ts', 'ab', opts);
  } catch (e) {
    expect(e).toBeInstanceOf(RecipeError);
    expect((e as RecipeError).code).toBe('RECIPE_INVALID');
    return (e as RecipeError).details.problems as string[];
  }
  throw new Error('recipe was accepted');
}

describe('recipe schema', () => {
  it('normalizes a minimal recipe with every default resolved', () => {
    const r = parseRecipe(base, '/r/demo.ts', 'ab', opts);
    expect(r).toMatchObject({
      name: 'demo',
      architectures: ['amd64'],
      components: ['main'],
      variant: 'minbase',
      updates: true,
      layers: [],
      slim: null,
      strip: null,
      mirror: undefined,
      config: { env: {}, labels: {}, ports: [] },
    });
  });

  it('resolves from:, file modes, owners, users and ports', () => {
    const r = parseRecipe(
      {
        ...base,
        from: './parent.ts',
        slim: true,
        strip: { apt: false },
        layers: [
          {
            name: 'app',
            packages: ['curl', 'libc6=2.36-9'],
            files: [{ src: 'files/motd', dest: '/etc/motd', mode: '0600', owner: '1000:1000' }],
            users: [{ name: 'app', uid: 1000 }],
            remove: { paths: ['/usr/share/doc'] },
          },
        ],
        config: { ports: [8080, '53/udp', '8080/tcp'], env: { A: 'b' } },
      },
      '/r/sub/demo.ts',
      'ab',
      opts,
    );
    expect(r.from).toBe('/r/sub/parent.ts');
    expect(r.layers[0]!.files[0]).toEqual({ src: 'files/motd', dest: '/etc/motd', mode: 0o600, uid: 1000, gid: 1000 });
    expect(r.layers[0]!.users[0]).toEqual({ name: 'app', uid: 1000, gid: 1000, home: '/home/app', shell: '/usr/sbin/nologin', groups: [] });
    expect(r.config.ports).toEqual(['53/udp', '8080/tcp']);
    expect(r.slim).toEqual({ docs: true, man: true, keepLocales: [], caches: true });
    expect(r.strip).toEqual({ shell: true, apt: false, dpkgTools: true, paths: [] });
  });

  // One row per field: the value that must be refused and the field path the error names.
  const cases: [string, Record<string, unknown>, string][] = [
    ['name', { name: 'Bad Name' }, 'name'],
    ['version (semver)', { version: '1.0' }, 'version'],
    ['suite', { suite: 'Bookworm!' }, 'suite'],
    ['architectures (unknown)', { architectures: ['vax'] }, 'architectures[0]'],
    ['architectures (duplicate)', { architectures: ['amd64', 'amd64'] }, 'architectures'],
    ['mirror (not http)', { mirror: 'ftp://example.invalid/debian' }, 'mirror'],
    ['securityMirror', { securityMirror: 'not a url' }, 'securityMirror'],
    ['components', { components: [] }, 'components'],
    ['variant', { variant: 'fakechroot' }, 'variant'],
    ['updates', { updates: 'yes' }, 'updates'],
    ['from (absolute)', { from: '/etc/parent.ts' }, 'from'],
    ['from (escapes)', { from: '../../x.ts' }, 'from'],
    ['layers[].name', { layers: [{ name: 'UPPER' }] }, 'layers[0].name'],
    ['layers[].packages type', { layers: [{ name: 'a' }, { name: 'b', packages: [42] }] }, 'layers[1].packages[0]'],
    ['layers[].packages name', { layers: [{ name: 'a', packages: ['Bad_Pkg'] }] }, 'layers[0].packages[0]'],
    ['layers[].files[].src escapes', { layers: [{ name: 'a', files: [{ src: '../secret', dest: '/x' }] }] }, 'layers[0].files[0].src'],
    ['layers[].files[].dest relative', { layers: [{ name: 'a', files: [{ src: 'x', dest: 'etc/x' }] }] }, 'layers[0].files[0].dest'],
    ['layers[].files[].mode', { layers: [{ name: 'a', files: [{ src: 'x', dest: '/x', mode: '0999' }] }] }, 'layers[0].files[0].mode'],
    ['layers[].files[].owner', { layers: [{ name: 'a', files: [{ src: 'x', dest: '/x', owner: 'nosuchuser:root' }] }] }, 'layers[0].files[0].owner'],
    ['layers[].users[].uid', { layers: [{ name: 'a', users: [{ name: 'app', uid: 0 }] }] }, 'layers[0].users[0].uid'],
    ['layers[].remove.paths', { layers: [{ name: 'a', remove: { paths: ['relative'] } }] }, 'layers[0].remove.paths[0]'],
    ['config.workdir', { config: { workdir: 'home' } }, 'config.workdir'],
    ['config.env name', { config: { env: { 'BAD-NAME': 'x' } } }, 'config.env.BAD-NAME'],
    ['config.entrypoint', { config: { entrypoint: '/bin/sh' } }, 'config.entrypoint'],
    ['config.ports', { config: { ports: ['80/http'] } }, 'config.ports[0]'],
    ['slim', { slim: { docs: 'yes' } }, 'slim.docs'],
    ['strip', { strip: { shell: 1 } }, 'strip.shell'],
    ['contents.packages (empty)', { contents: { packages: [] } }, 'contents.packages'],
    ['contents.packages (pinned)', { contents: { packages: ['libc6=2.36-9'] } }, 'contents.packages[0]'],
    ['contents.packages (duplicate)', { contents: { packages: ['tzdata', 'tzdata'] } }, 'contents.packages'],
    ['contents.generated (relative)', { contents: { packages: ['tzdata'], generated: ['etc/passwd'] } }, 'contents.generated[0]'],
    ['contents.generated (..)', { contents: { packages: ['tzdata'], generated: ['/etc/../../x'] } }, 'contents.generated[0]'],
    ['contents.generated (a directory)', { contents: { packages: ['tzdata'], generated: ['/etc/ssl/'] } }, 'contents.generated[0]'],
    ['contents.generated (newline)', { contents: { packages: ['tzdata'], generated: ['/etc/x\n/etc/y'] } }, 'contents.generated[0]'],
    ['contents (unknown key)', { contents: { packages: ['tzdata'], files: [] } }, 'contents.files'],
    ['strip with contents', { contents: { packages: ['tzdata'] }, strip: true }, 'strip'],
    ['from with contents', { contents: { packages: ['tzdata'] }, from: './parent.ts' }, 'from'],
    [
      'layers[].remove.packages with contents',
      { contents: { packages: ['tzdata'] }, layers: [{ name: 'a', remove: { packages: ['tzdata'] } }] },
      'layers[0].remove.packages',
    ],
    ['publish.repository', { publish: { repository: 'UPPER/case', tags: ['x'] } }, 'publish.repository'],
    ['publish.tags', { publish: { repository: 'localhost:5000/a/b', tags: [] } }, 'publish.tags'],
  ];
  it.each(cases)('refuses a bad %s and names the field', (_label, patch, field) => {
    const lines = problems({ ...base, ...patch });
    expect(
      lines.some((l) => l.startsWith(`demo.ts: ${field}: `)),
      lines.join('\n'),
    ).toBe(true);
  });

  it('normalizes contents: generated defaults to none; strip: false is no strip', () => {
    const r = parseRecipe({ ...base, contents: { packages: ['base-files', 'tzdata'] }, strip: false }, '/r/demo.ts', 'ab', opts);
    expect(r.contents).toEqual({ packages: ['base-files', 'tzdata'], generated: [] });
    expect(parseRecipe(base, '/r/demo.ts', 'ab', opts).contents).toBeNull();
  });

  it('refuses unknown keys at every level, naming them', () => {
    expect(problems({ ...base, sutie: 'x' })).toContain('demo.ts: sutie: unknown key');
    expect(problems({ ...base, layers: [{ name: 'a', pkgs: [] }] })).toContain('demo.ts: layers[0].pkgs: unknown key');
    expect(problems({ ...base, config: { usr: 'x' } })).toContain('demo.ts: config.usr: unknown key');
  });

  it('reports missing required fields', () => {
    const lines = problems({ name: 'demo' });
    expect(lines.some((l) => l.startsWith('demo.ts: version: '))).toBe(true);
    expect(lines.some((l) => l.startsWith('demo.ts: suite: '))).toBe(true);
  });

  it('reports a wrong type as "expected <type>"', () => {
    expect(problems({ ...base, layers: [{ name: 'a', packages: [1] }] })).toContain('demo.ts: layers[0].packages[0]: expected string, received number');
  });
});
