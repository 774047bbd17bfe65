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

/** The unprivileged account of the distroless images, with distroless's uid. */
export const nonroot = { name: 'nonroot', uid: 65532, home: '/home/nonroot', shell: '/sbin/nologin' } as const;

/**
 * What `static` consists of (recipe `contents`): base-files, netbase, tzdata and the CA
 * certificates, no libc; plus the files their maintainer scripts (and the nonroot user) create
 * in the build root.
 */
export const staticContents = {
  packages: ['base-files', 'netbase', 'tzdata', 'ca-certificates'],
  generated: ['/etc/ssl/certs/ca-certificates.crt', '/etc/passwd', '/etc/group', '/etc/nsswitch.conf'],
};

/** The image config both distroless recipes share: run as nonroot, trust the CA bundle. */
export const distrolessConfig = (title: string) => ({
  user: `${nonroot.uid}:${nonroot.uid}`,
  workdir: nonroot.home,
  env: { SSL_CERT_FILE: '/etc/ssl/certs/ca-certificates.crt' },
  labels: labels(title),
});
