/**
 * Archive freshness with Debian's real signed InRelease files: a maximum Release age for
 * Releases without Valid-Until (bookworm has none), and suite aliases that must resolve to the
 * codename the caller expects.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_RELEASE_AGE_MS, parseDuration, releaseExpiry } from '../../src/archive/freshness.js';
import { verifyInRelease } from '../../src/archive/inrelease.js';
import { loadPinnedKeys } from '../../src/archive/keyring.js';
import type { PinnedKey } from '../../src/archive/pinned-keys.js';
import { ArchiveError } from '../../src/errors.js';
import { main } from '../../src/cli/main.js';
import { parseRecipe } from '../../src/recipe/load.js';
import { REPO_ROOT } from '../helpers/paths.js';

const FIXTURES = join(REPO_ROOT, 'test/fixtures/archive');
const BOOKWORM = readFileSync(join(FIXTURES, 'bookworm.InRelease')); // Date 2026-07-11, no Valid-Until
const SECURITY = readFileSync(join(FIXTURES, 'bookworm-security.InRelease')); // Date 2026-11-21, Valid-Until 2026-11-28
const NOW = new Date('2026-11-23T00:00:00Z');
const DAY = 86_400_000;

let keys: PinnedKey[];
beforeAll(async () => {
  keys = await loadPinnedKeys();
});

async function refusal(p: Promise<unknown>): Promise<ArchiveError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ArchiveError);
    return e as ArchiveError;
  }
  throw new Error('accepted');
}

describe('maximum Release age', () => {
  it('parses durations and refuses anything else', () => {
    expect(parseDuration('30d')).toBe(30 * DAY);
    expect(parseDuration('12h')).toBe(12 * 3_600_000);
    expect(parseDuration('2w')).toBe(14 * DAY);
    expect(parseDuration('never')).toBe(Infinity);
    for (const bad of ['', '0d', '-1d', '30', 'd', '1y', '1.5d', '30 d', '9999999d']) expect(parseDuration(bad), bad).toBeUndefined();
  });

  it('takes the earlier of Valid-Until and Date + maximum age', () => {
    const date = new Date('2026-01-01T00:00:00Z');
    expect(releaseExpiry(date, undefined, 10 * DAY)).toEqual({ at: new Date('2026-01-11T00:00:00Z'), by: 'max-age' });
    expect(releaseExpiry(date, new Date('2026-01-05T00:00:00Z'), 10 * DAY)?.by).toBe('valid-until');
    expect(releaseExpiry(date, new Date('2026-02-01T00:00:00Z'), 10 * DAY)?.by).toBe('max-age');
    expect(releaseExpiry(date, undefined, Infinity)).toBeUndefined();
  });

  it('the default passes the real bookworm InRelease (no Valid-Until, signed at the last point release)', async () => {
    const r = await verifyInRelease(BOOKWORM, keys, { suite: 'bookworm', now: NOW });
    expect(r.validUntil).toBeUndefined();
    expect(DEFAULT_MAX_RELEASE_AGE_MS).toBe(730 * DAY);
  });

  it('refuses bookworm (135 days old) with a 30-day maximum: RELEASE_TOO_OLD, exit 1', async () => {
    const e = await refusal(verifyInRelease(BOOKWORM, keys, { suite: 'bookworm', now: NOW, maxReleaseAgeMs: 30 * DAY }));
    expect(e.code).toBe('RELEASE_TOO_OLD');
    expect(e.exitStatus).toBe(1);
    expect(e.message.split('\n')).toHaveLength(1);
  });

  it('refuses the same bytes replayed years later with the default maximum', async () => {
    const e = await refusal(verifyInRelease(BOOKWORM, keys, { suite: 'bookworm', now: new Date('2029-01-01T00:00:00Z') }));
    expect(e.code).toBe('RELEASE_TOO_OLD');
  });

  it('accepts it just inside the limit and refuses it just past it', async () => {
    const date = new Date('2026-07-11T10:16:37Z').getTime();
    await expect(
      verifyInRelease(BOOKWORM, keys, { suite: 'bookworm', now: new Date(date + 100 * DAY - 1000), maxReleaseAgeMs: 100 * DAY }),
    ).resolves.toBeDefined();
    expect((await refusal(verifyInRelease(BOOKWORM, keys, { suite: 'bookworm', now: new Date(date + 100 * DAY), maxReleaseAgeMs: 100 * DAY }))).code).toBe(
      'RELEASE_TOO_OLD',
    );
  });

  it('applies to a Release with Valid-Until too, when the maximum age is the earlier limit', async () => {
    const e = await refusal(verifyInRelease(SECURITY, keys, { suite: 'bookworm-security', now: NOW, maxReleaseAgeMs: DAY }));
    expect(e.code).toBe('RELEASE_TOO_OLD');
    // …and Valid-Until still wins when it is earlier.
    const late = new Date('2026-11-29T00:00:00Z');
    expect((await refusal(verifyInRelease(SECURITY, keys, { suite: 'bookworm-security', now: late }))).code).toBe('RELEASE_EXPIRED');
  });

  it('never disables the maximum age', async () => {
    await expect(
      verifyInRelease(BOOKWORM, keys, { suite: 'bookworm', now: new Date('2035-01-01T00:00:00Z'), maxReleaseAgeMs: Infinity }),
    ).resolves.toBeDefined();
  });
});

describe('suite aliases', () => {
  it('refuses an alias (Suite: oldstable) when no codename is expected: RELEASE_CODENAME_MISMATCH, exit 1', async () => {
    const e = await refusal(verifyInRelease(BOOKWORM, keys, { suite: 'oldstable', now: NOW }));
    expect(e.code).toBe('RELEASE_CODENAME_MISMATCH');
    expect(e.exitStatus).toBe(1);
  });

  it('refuses an alias whose Codename is not the one expected (the alias moved)', async () => {
    const e = await refusal(verifyInRelease(BOOKWORM, keys, { suite: 'oldstable', now: NOW, expectedCodename: 'trixie' }));
    expect(e.code).toBe('RELEASE_CODENAME_MISMATCH');
    expect(e.details).toMatchObject({ codename: 'bookworm', expectedCodename: 'trixie' });
  });

  it('accepts the alias when the Codename is the expected one, and the security alias likewise', async () => {
    await expect(verifyInRelease(BOOKWORM, keys, { suite: 'oldstable', now: NOW, expectedCodename: 'bookworm' })).resolves.toMatchObject({
      codename: 'bookworm',
    });
    await expect(verifyInRelease(SECURITY, keys, { suite: 'oldstable-security', now: NOW, expectedCodename: 'bookworm-security' })).resolves.toBeDefined();
    expect((await refusal(verifyInRelease(SECURITY, keys, { suite: 'oldstable-security', now: NOW }))).code).toBe('RELEASE_CODENAME_MISMATCH');
  });

  it('a recipe must name a codename, not an alias (validate error naming suite)', () => {
    for (const alias of ['stable', 'oldstable', 'testing', 'unstable', 'stable-updates']) {
      try {
        parseRecipe({ name: 'x', version: '1.0.0', suite: alias }, '/r/x.ts', 'ab', { hostArch: 'amd64', displayBase: '/r' });
        throw new Error(`${alias} accepted`);
      } catch (e) {
        expect((e as { code?: string }).code).toBe('RECIPE_INVALID');
        expect((e as Error).message).toMatch(/^x\.ts: suite: /);
      }
    }
  });

  it('archive verify refuses a malformed --max-release-age or --codename as a usage error (exit 2)', async () => {
    const err: string[] = [];
    const io = { out: () => undefined, err: (t: string) => void err.push(t) };
    expect(await main(['archive', 'verify', '--suite', 'bookworm', '--max-release-age', 'soon'], { io })).toBe(2);
    expect(await main(['archive', 'verify', '--suite', 'stable', '--codename', 'Bad Name'], { io })).toBe(2);
    expect(err.filter((l) => l.startsWith('error:'))).toHaveLength(2);
  });
});
