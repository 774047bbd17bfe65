/**
 * apt configuration, pure. Two sets of sources:
 * - the image's own `/etc/apt/sources.list.d/debian.sources`, trusting the distribution keyring
 *   that ships in the image, so `apt-get update` works for the image's users;
 * - the build-time sources under /run/imgfactory (never part of a layer), trusting only the
 *   keyring made from keys/, with lists, caches and downloaded .debs kept out of the image.
 */

export interface AptSourcesInput {
  readonly mirror: string;
  readonly securityMirror: string;
  readonly suite: string;
  readonly components: readonly string[];
  readonly updates: boolean;
  readonly signedBy: string;
}

export function aptSourcesDeb822(s: AptSourcesInput): string {
  const stanza = (uri: string, suites: string[]) =>
    [`Types: deb`, `URIs: ${uri}`, `Suites: ${suites.join(' ')}`, `Components: ${s.components.join(' ')}`, `Signed-By: ${s.signedBy}`].join('\n');
  const stanzas = [stanza(s.mirror, s.updates ? [s.suite, `${s.suite}-updates`] : [s.suite])];
  if (s.updates) stanzas.push(stanza(s.securityMirror, [`${s.suite}-security`]));
  return `${stanzas.join('\n\n')}\n`;
}

/** In-chroot directory for build-only apt state; /run is excluded from every layer. */
export const BUILD_APT_DIR = '/run/imgfactory';
export const BUILD_KEYRING = `${BUILD_APT_DIR}/archive-keyring.gpg`;
export const BUILD_DEB_DIR = `${BUILD_APT_DIR}/archives`;
export const IMAGE_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

/** `-o` options for every apt-get run during a build. */
export function buildAptOptions(): string[] {
  const o = (k: string, v: string) => ['-o', `${k}=${v}`];
  return [
    ...o('Dir::Etc::SourceList', `${BUILD_APT_DIR}/empty.list`),
    ...o('Dir::Etc::SourceParts', `${BUILD_APT_DIR}/sources.list.d`),
    ...o('Dir::State::Lists', `${BUILD_APT_DIR}/lists`),
    ...o('Dir::Cache::Archives', BUILD_DEB_DIR),
    ...o('Dir::Cache::pkgcache', ''),
    ...o('Dir::Cache::srcpkgcache', ''),
    ...o('Dir::Log', `${BUILD_APT_DIR}/log`),
    ...o('APT::Install-Recommends', 'false'),
    ...o('APT::Install-Suggests', 'false'),
    ...o('APT::Sandbox::User', 'root'),
    ...o('Acquire::Languages', 'none'),
    ...o('Acquire::Retries', '3'),
    ...o('Dpkg::Use-Pty', '0'),
    ...o('Dpkg::Options::', '--force-confdef'),
    ...o('Dpkg::Options::', '--force-confold'),
  ];
}

/** Keeps daemons from starting inside the build chroot (invoke-rc.d honours exit 101). */
export const POLICY_RC_D = '#!/bin/sh\n# imgfactory build: never start services\nexit 101\n';
