/** The CLI's lazy command table names every command, in --help order, and loads that command. */
import { describe, expect, it } from 'vitest';
import { commands } from '../../src/cli/commands/index.js';
import { commandLoaders } from '../../src/cli/commands/loaders.js';

describe('commandLoaders', () => {
  it('lists the same commands as index.ts, in the same order', () => {
    expect(commandLoaders.map((l) => l.name)).toEqual(commands.map((c) => c.name));
  });

  it('each loader loads the command it is named for', async () => {
    for (const l of commandLoaders) expect(await l.load()).toBe(commands.find((c) => c.name === l.name));
  });
});
