import { defineRecipe } from 'imgfactory';
import { distrolessConfig, nonroot, staticContents } from './lib/common.js';

// static + the C library, OpenSSL's libssl and the gcc runtime it needs, in the spirit of
// distroless base-debian12: for dynamically linked programs that need nothing else.
export default defineRecipe({
  name: 'base',
  version: '12.0.0',
  description: 'Distroless-style base for dynamically linked binaries (glibc, libssl)',
  suite: 'bookworm',
  variant: 'minbase',
  contents: {
    packages: [...staticContents.packages, 'libc6', 'libgcc-s1', 'gcc-12-base', 'libssl3'],
    generated: staticContents.generated,
  },
  layers: [{ name: 'nonroot', users: [nonroot] }],
  slim: true,
  config: distrolessConfig('base'),
  publish: { repository: 'localhost:5000/base/base', tags: ['bookworm'] },
});
