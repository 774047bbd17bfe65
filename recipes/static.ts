import { defineRecipe } from 'imgfactory';
import { distrolessConfig, nonroot, staticContents } from './lib/common.js';

// Distroless-style, assembled from a package set: the packages are installed in a throwaway build
// root (maintainer scripts run there), and the image receives only their files, the CA bundle,
// passwd/group and nsswitch.conf. No shell, no libc, no package manager; the dpkg database
// (var/lib/dpkg/status.d) names exactly what is there, for scanners.
export default defineRecipe({
  name: 'static',
  version: '12.1.0',
  description: 'Distroless-style base for static binaries',
  suite: 'bookworm',
  variant: 'minbase',
  contents: staticContents,
  layers: [{ name: 'nonroot', users: [nonroot] }],
  slim: true,
  config: distrolessConfig('static'),
  publish: { repository: 'localhost:5000/base/static', tags: ['bookworm'] },
});
