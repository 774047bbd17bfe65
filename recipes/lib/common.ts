// Shared pieces for the example recipes: recipes are code, so plain constants and functions work.
import type { LayerInput } from 'imgfactory';

/** The unprivileged account every example image runs as. */
export const appUser = { name: 'app', uid: 1000, home: '/home/app', shell: '/bin/sh' } as const;

export const labels = (title: string) => ({
  'org.opencontainers.image.title': title,
  'org.opencontainers.image.vendor': 'imgfactory',
});

/** A layer that only adds the app user (no packages). */
export const userLayer = (shell = appUser.shell): LayerInput => ({
  name: 'user',
  users: [{ ...appUser, shell }],
});
