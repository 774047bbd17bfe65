import { defineRecipe } from 'imgfactory';
import { labels } from './lib/common.js';

// Distroless-style: CA certificates, time zones and a passwd file, no shell, no package manager.
// The dpkg status database stays so scanners can still see what is installed.
export default defineRecipe({
  name: 'static',
  version: '12.0.0',
  description: 'Distroless-style base for static binaries',
  suite: 'bookworm',
  variant: 'minbase',
  layers: [
    {
      name: 'runtime-data',
      packages: ['ca-certificates', 'tzdata'],
      users: [{ name: 'nonroot', uid: 65532, home: '/home/nonroot', shell: '/sbin/nologin' }],
    },
  ],
  slim: true,
  strip: true,
  config: {
    user: '65532:65532',
    workdir: '/home/nonroot',
    env: { SSL_CERT_FILE: '/etc/ssl/certs/ca-certificates.crt' },
    labels: labels('static'),
  },
  publish: { repository: 'localhost:5000/base/static', tags: ['bookworm'] },
});
