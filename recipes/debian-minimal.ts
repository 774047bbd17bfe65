import { defineRecipe } from 'imgfactory';
import { appUser, labels, userLayer } from './lib/common.js';

export default defineRecipe({
  name: 'debian-minimal',
  version: '12.0.0',
  description: 'Debian bookworm minbase, slimmed, running as an unprivileged user',
  suite: 'bookworm',
  variant: 'minbase',
  layers: [userLayer()],
  slim: true,
  config: {
    user: appUser.name,
    workdir: appUser.home,
    env: { LANG: 'C.UTF-8' },
    cmd: ['/bin/bash'],
    labels: labels('debian-minimal'),
  },
  publish: { repository: 'localhost:5000/base/debian-minimal', tags: ['bookworm', '12'] },
});
