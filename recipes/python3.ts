import { defineRecipe } from 'imgfactory';
import { appUser, labels } from './lib/common.js';

// Builds on debian-minimal: its layers are reused byte for byte, python3 comes in a layer of its own.
export default defineRecipe({
  name: 'python3',
  version: '3.11.0',
  description: 'Python 3 on debian-minimal',
  suite: 'bookworm',
  from: './debian-minimal.ts',
  layers: [{ name: 'python3', packages: ['python3-minimal'] }],
  slim: true,
  config: {
    user: appUser.name,
    workdir: appUser.home,
    env: { LANG: 'C.UTF-8', PYTHONDONTWRITEBYTECODE: '1' },
    cmd: ['/usr/bin/python3'],
    labels: labels('python3'),
  },
  publish: { repository: 'localhost:5000/base/python3', tags: ['3.11', 'bookworm'] },
});
