import { describe, expect, it } from 'vitest';
import { compareDebianVersions, parseDebianVersion } from '../../src/archive/debian-version.js';

const sign = (n: number) => Math.sign(n);

describe('compareDebianVersions (Debian policy §5.6.12)', () => {
  // Each pair: a < b.
  const ordered: [string, string][] = [
    // `~` sorts before everything, even the end of the part (policy's own example chain).
    ['1.0~~', '1.0~~a'],
    ['1.0~~a', '1.0~'],
    ['1.0~', '1.0'],
    ['1.0', '1.0a'],
    ['1.0~rc1', '1.0'],
    ['1.0~rc1', '1.0~rc2'],
    ['2.4~beta1-1', '2.4-1'],
    // Letters sort before non-letters.
    ['1.0a', '1.0+'],
    ['1.0a', '1.0.'],
    ['1.0+b1', '1.0+deb12u1'],
    // Digit runs compare numerically, not lexically.
    ['1.2.3', '1.2.10'],
    ['1.09', '1.10'],
    ['9', '10'],
    // Epochs win over everything else.
    ['2.0', '1:1.0'],
    ['1:9.9', '2:0.1'],
    // Revisions compare after the upstream version, with the same rules.
    ['1.0-1', '1.0-2'],
    ['1.0-2', '1.0-10'],
    ['1.0-1', '1.0.1-1'],
    ['1.0-1~bpo1', '1.0-1'],
    ['2.4-2+deb12u3', '2.4-2+deb12u10'],
    ['5.2.15-2+b2', '5.2.15-2+b13'],
    // Upstream versions may contain hyphens: the revision is after the last one.
    ['1.0-beta-1', '1.0-beta-2'],
    ['0.17+2.4-2+deb12u3', '2:2.4-2+deb12u3'],
  ];
  for (const [a, b] of ordered) {
    it(`${a} < ${b}`, () => {
      expect(sign(compareDebianVersions(a, b))).toBe(-1);
      expect(sign(compareDebianVersions(b, a))).toBe(1);
    });
  }

  const equal: [string, string][] = [
    ['1.0', '1.0'],
    ['0:1.0', '1.0'], // epoch 0 is the default
    ['1.0', '1.0-0'], // dpkg: an absent revision equals "0"
    ['1.01', '1.1'], // leading zeros of a digit run do not count
    ['1:2.30-1', '01:2.30-1'],
  ];
  for (const [a, b] of equal) {
    it(`${a} == ${b}`, () => {
      expect(compareDebianVersions(a, b)).toBe(0);
      expect(compareDebianVersions(b, a)).toBe(0);
    });
  }

  it('sorts a list the way dpkg does', () => {
    const list = ['1.0', '1:0.1', '1.0~rc1', '1.0-1', '1.0+b1', '0.9', '1.0~~', '1.0a'];
    expect([...list].sort(compareDebianVersions)).toEqual(['0.9', '1.0~~', '1.0~rc1', '1.0', '1.0-1', '1.0a', '1.0+b1', '1:0.1']);
  });

  it('splits epoch, upstream and revision', () => {
    expect(parseDebianVersion('2:2.4-2+deb12u3')).toEqual({ epoch: 2, upstream: '2.4', revision: '2+deb12u3' });
    expect(parseDebianVersion('1.0-beta-1')).toEqual({ epoch: 0, upstream: '1.0-beta', revision: '1' });
    expect(parseDebianVersion('9.1')).toEqual({ epoch: 0, upstream: '9.1', revision: '' });
  });

  it('rejects a version with a non-numeric epoch or no upstream part', () => {
    expect(() => compareDebianVersions('a:1.0', '1.0')).toThrow(TypeError);
    expect(() => compareDebianVersions('1:', '1.0')).toThrow(TypeError);
  });
});

describe('compareDebianVersions agrees with dpkg --compare-versions', () => {
  const versions = ['1.0', '1.0~rc1', '1:0.9', '1.0-1', '1.0+b1', '1.0a', '2.4-2+deb12u3', '2.4-2+deb12u10', '0.17+2.4-2', '1.0~~', '1.2.10', '1.2.9'];
  it('for every pair of a mixed list', async () => {
    const { run } = await import('../../src/exec.js');
    for (const a of versions) {
      for (const b of versions) {
        const lt = (await run(['dpkg', '--compare-versions', a, 'lt', b], { okExitCodes: [1] })).exitCode === 0;
        const eq = (await run(['dpkg', '--compare-versions', a, 'eq', b], { okExitCodes: [1] })).exitCode === 0;
        const ours = sign(compareDebianVersions(a, b));
        expect(ours, `${a} vs ${b}`).toBe(lt ? -1 : eq ? 0 : 1);
      }
    }
  });
});
