import { defineRecipe } from 'imgfactory';
import { appUser, labels, userLayer } from './lib/common.js';

export default defineRecipe({
  name: 'debian-trixie-minimal',
  version: '13.0.0',
  description: 'Debian trixie minbase, slimmed, running as an unprivileged user',
  suite: 'trixie',
  variant: 'minbase',
  layers: [userLayer()],
  slim: true,
  config: {
    user: appUser.name,
    workdir: appUser.home,
    env: { LANG: 'C.UTF-8' },
    cmd: ['/bin/bash'],
    labels: labels('debian-trixie-minimal'),
  },
  publish: { repository: 'localhost:5000/base/debian-trixie-minimal', tags: ['trixie', '13'] },
});
