/**
 * Which test files are integration tests: they need root, the host's apt mirror, debootstrap,
 * the test registry, skopeo, podman or umoci. Everything else is a unit test and must pass as an
 * unprivileged user with no network (`npm run test:unit`). vitest.config.ts reads this list, and
 * test/projects.test.ts fails when a file uses an integration helper but is not listed here.
 */
export const INTEGRATION_TESTS: readonly string[] = [
  // The host's mirror, through the tamper proxy or debootstrap.
  'test/archive/archive-tamper.test.ts',
  'test/archive/archive-verify-cli.test.ts',
  'test/archive/audit-rootfs.test.ts',
  'test/archive/cache-disk-full.test.ts',
  // Real trees with devices, owners and capabilities (mknod, chown, setcap need root); umoci.
  'test/layer/determinism.test.ts',
  'test/layer/diff.test.ts',
  'test/layer/headers.test.ts',
  'test/layer/snapshot.test.ts',
  'test/layer/umoci.test.ts',
  // The shared debian-minimal build, registry, skopeo and podman.
  'test/e2e/consumer.test.ts',
  'test/pipeline/build.test.ts',
  'test/pipeline/signed-build.test.ts',
  'test/pipeline/parent.test.ts',
  'test/pipeline/base-cache-build.test.ts',
  'test/pipeline/deb-cache-build.test.ts',
  'test/pipeline/mmdebstrap-parity.test.ts',
  'test/pipeline/distroless.test.ts',
  'test/pipeline/trixie.test.ts',
  // arm64 under qemu-user-static (binfmt_misc), the registry, podman; unshare for the no-qemu case.
  'test/pipeline/multiarch.test.ts',
  // The build's entry point (it stops before the archive: the binfmt check, --arch).
  'test/pipeline/foreign-arch-build.test.ts',
  'test/e2e/versions.test.ts',
  'test/pipeline/disk-full-build.test.ts',
  'test/update/real-archive.test.ts',
  'test/update/if-changed.test.ts',
  'test/update/registry-check.test.ts',
  'test/export/export.test.ts',
  'test/export/registry-export.test.ts',
  // mount(2) and chown need root.
  'test/bootstrap/disk-full.test.ts',
  'test/bootstrap/root-confinement.test.ts',
  'test/registry/auth-tls.test.ts',
  'test/registry/build-push-interrupt.test.ts',
  'test/registry/cli.test.ts',
  'test/registry/cli-faults.test.ts',
  'test/registry/hostile.test.ts',
  'test/registry/interrupt.test.ts',
  'test/registry/lookaside.test.ts',
  'test/registry/pull.test.ts',
  'test/registry/push.test.ts',
  'test/registry/resume.test.ts',
  'test/sign/policy.test.ts',
  'test/sign/skopeo.test.ts',
];
