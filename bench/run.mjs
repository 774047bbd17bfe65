#!/usr/bin/env node
// imgfactory benchmarks. Every figure is measured next to a reference in the same run, on the
// same machine and mirror, so the ratios mean something even when absolute times drift.
//
//   sudo node bench/run.mjs [--only build|layer|push|update|arm64] [--out bench/results]
//                           [--tree <minbase root>] [--layout <debian-minimal layout>]
//
// --tree and --layout reuse an existing tree (layer) or built layout (push) instead of
// bootstrapping or building one first: quick runs when only packing or pushing is measured.
//
// Needs root (debootstrap), a built dist/ (`npm run build`) and the host's apt mirror.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(fileURLToPath(new URL('..', import.meta.url)));
const args = process.argv.slice(2);
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
const opt = (name) => (args.includes(name) ? resolve(args[args.indexOf(name) + 1]) : undefined);
const resultsDir = resolve(args.includes('--out') ? args[args.indexOf('--out') + 1] : join(repo, 'bench/results'));
const work = mkdtempSync('/var/tmp/imgfactory-bench-');
const { hostArchiveMirrors } = await import(join(repo, 'dist/archive/index.js'));
const { mirror } = await hostArchiveMirrors();

/** Run a command under GNU time; return wall seconds, stdout and the child's peak RSS (MiB). */
function timed(argv, opts = {}) {
  const rssFile = join(work, `rss-${Math.random().toString(36).slice(2)}`);
  const start = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', '-o', rssFile, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 28, ...opts });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed: ${String(r.stderr).slice(-500)}`);
  const maxRssMiB = Math.round(Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop()) / 1024);
  return { seconds, stdout: String(r.stdout), maxRssMiB };
}

const mb = (n) => Math.round((n / 1e6) * 10) / 10;
const os = await import('node:os');
// The load average goes into the results: figures taken on a busy machine say so.
const results = { date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, loadAverageAtStart: os.loadavg() };
const lines = [];

if (!only || only === 'build') {
  const toolEnv = { env: { PATH: process.env.PATH, LC_ALL: 'C' } };
  // References: plain debootstrap and plain mmdebstrap, minbase, same mirror.
  const ref = timed(['debootstrap', '--variant=minbase', 'bookworm', join(work, 'plain'), mirror], toolEnv);
  const du = Number(
    execFileSync('du', ['-sb', '--exclude=./var/cache/apt/archives', '.'], { cwd: join(work, 'plain') })
      .toString()
      .split('\t')[0],
  );
  const mmRef = timed(['mmdebstrap', '--variant=minbase', '--quiet', 'bookworm', join(work, 'plain-mm.tar'), mirror], toolEnv);
  results.debootstrap = { seconds: ref.seconds, unpackedBytes: du };
  results.mmdebstrap = { seconds: mmRef.seconds };
  lines.push(`| plain \`debootstrap --variant=minbase bookworm\` (reference) | ${ref.seconds.toFixed(1)} s | – | ${mb(du)} MB |`);
  lines.push(`| plain \`mmdebstrap --variant=minbase bookworm\` to a tarball (reference) | ${mmRef.seconds.toFixed(1)} s | – | – |`);
  const out = join(work, 'out');
  results.builds = {};
  /**
   * One imgfactory build; `cache` is the package cache directory and `${cache}-base` the
   * base-layer cache (fresh ones = cold).
   */
  const build = (key, recipeFile, cache, extra = [], outKey = key) => {
    const r = timed(
      [
        'node',
        join(repo, 'bin/imgfactory.js'),
        'build',
        recipeFile,
        '--out',
        join(out, outKey),
        '--work-dir',
        join(work, 'w'),
        '--deb-cache-dir',
        cache,
        '--base-cache-dir',
        `${cache}-base`,
        '--json',
        // A benchmark never writes lock files beside the repository's recipes.
        '--no-lock',
        ...extra,
      ],
      // The archive (index) cache is the run's own, empty at the start: cold means cold on any
      // machine, whatever ~/.cache holds; later builds of the run find it warm.
      { env: { ...process.env, XDG_CACHE_HOME: join(work, 'xdg') } },
    );
    const s = JSON.parse(r.stdout);
    const layers = s.platforms[0].layers;
    const own = layers.filter((l) => !l.inherited);
    const result = {
      seconds: r.seconds,
      maxRssMiB: r.maxRssMiB,
      digest: s.digest,
      compressed: layers.reduce((a, l) => a + l.size, 0),
      unpacked: layers.reduce((a, l) => a + l.uncompressedSize, 0),
      ownLayers: own.length,
      ownCompressed: own.reduce((a, l) => a + l.size, 0),
      baseReused: layers.some((l) => l.reused),
      stages: s.stages,
    };
    results.builds[key] = result;
    return result;
  };
  const row = (what, r, ratio) =>
    lines.push(
      `| ${what} | ${r.seconds.toFixed(1)} s${ratio ? ` (${ratio})` : ''} | ${mb(r.compressed)} MB${r.ownCompressed !== r.compressed ? ` (own layers ${mb(r.ownCompressed)} MB)` : ''} | ${mb(r.unpacked)} MB; peak RSS ${r.maxRssMiB} MiB${r.baseReused ? '; base layer reused from the cache' : ''} |`,
    );
  const minimal = join(repo, 'recipes/debian-minimal.ts');
  const cold = build('minimal-cold', minimal, join(work, 'cache-a'));
  // Plain mmdebstrap once more right after the cold build: the ratio uses the mean of the two
  // runs around it, since a shared machine's speed drifts over minutes.
  const mmRefAfter = timed(['mmdebstrap', '--variant=minbase', '--quiet', 'bookworm', join(work, 'plain-mm-after.tar'), mirror], toolEnv);
  results.mmdebstrap.secondsAfter = mmRefAfter.seconds;
  const mmMean = (mmRef.seconds + mmRefAfter.seconds) / 2;
  lines.push(`| plain \`mmdebstrap\` again, right after the cold build (reference) | ${mmRefAfter.seconds.toFixed(1)} s | – | – |`);
  row(
    '`imgfactory build recipes/debian-minimal.ts` (mmdebstrap, the default), cold caches',
    cold,
    `${(cold.seconds / ref.seconds).toFixed(2)}× debootstrap, ${(cold.seconds / mmMean).toFixed(2)}× mmdebstrap (mean of the two runs)`,
  );
  const warm = build('minimal-warm', minimal, join(work, 'cache-a'));
  row(
    'the same build again, archive unchanged, warm package and base-layer caches',
    warm,
    `${(warm.seconds / cold.seconds).toFixed(2)}× cold; digest ${warm.digest === cold.digest ? 'identical' : 'DIFFERENT'}`,
  );
  // One package changed: a recipe that adds one small package on top of the same base.
  // Beside the real recipes, so its relative imports resolve; removed again below.
  const onePkg = join(repo, 'recipes', '.bench-one-package.ts');
  writeFileSync(
    onePkg,
    readFileSync(minimal, 'utf8')
      .replace("name: 'debian-minimal'", "name: 'debian-minimal-plus'")
      .replace('layers: [userLayer()]', "layers: [{ name: 'netbase', packages: ['netbase'] }, userLayer()]"),
  );
  let changed;
  try {
    changed = build('minimal-plus', onePkg, join(work, 'cache-a'));
  } finally {
    rmSync(onePkg, { force: true });
  }
  row('debian-minimal plus one small package (netbase), warm caches', changed, `${(changed.seconds / cold.seconds).toFixed(2)}× cold`);
  const deb = build('minimal-debootstrap', minimal, join(work, 'cache-b'), ['--bootstrapper', 'debootstrap']);
  row(
    '`imgfactory build --bootstrapper debootstrap`, cold package cache',
    deb,
    `${(deb.seconds / ref.seconds).toFixed(2)}× debootstrap, ${(deb.seconds / mmMean).toFixed(2)}× mmdebstrap`,
  );
  for (const recipe of ['python3', 'static', 'base']) {
    // Into the warm build's output, so python3 reuses (and verifies) that debian-minimal as its parent.
    const r = build(recipe, join(repo, 'recipes', `${recipe}.ts`), join(work, 'cache-a'), [], 'minimal-warm');
    row(`\`imgfactory build recipes/${recipe}.ts\`, warm cache${recipe === 'python3' ? ' (parent already built)' : ''}`, r);
  }
}

// Not part of the default run (it takes about 10 minutes): `--only arm64`.
if (only === 'arm64') {
  // A foreign architecture under qemu-user-static (binfmt_misc), next to plain mmdebstrap
  // bootstrapping the same architecture (also under qemu) in the same run.
  const toolEnv = { env: { PATH: process.env.PATH, LC_ALL: 'C' } };
  const plainArm64 = (tarball) =>
    timed(['mmdebstrap', '--variant=minbase', '--architectures=arm64', '--quiet', 'bookworm', join(work, tarball), mirror], toolEnv);
  // The reference runs before and after the builds; the ratio uses their mean, since the load of
  // a shared machine drifts over ten minutes.
  const refBefore = plainArm64('plain-mm-arm64-before.tar');
  // debian-minimal with both architectures, built with --arch arm64; beside the real recipes so its imports resolve.
  const multi = join(repo, 'recipes', '.bench-multiarch.ts');
  writeFileSync(
    multi,
    readFileSync(join(repo, 'recipes/debian-minimal.ts'), 'utf8').replace(
      "  variant: 'minbase',\n",
      "  variant: 'minbase',\n  architectures: ['amd64', 'arm64'],\n",
    ),
  );
  results.arm64 = {};
  try {
    for (const [key, extra] of [
      ['mmdebstrap', []],
      ['debootstrap', ['--bootstrapper', 'debootstrap']],
    ]) {
      const argv = [
        'node',
        join(repo, 'bin/imgfactory.js'),
        'build',
        multi,
        '--arch',
        'arm64',
        '--out',
        join(work, `out-${key}`),
        '--work-dir',
        join(work, 'w'),
      ];
      const r = timed([...argv, '--deb-cache-dir', join(work, `cache-arm64-${key}`), '--json', ...extra], { env: process.env });
      const s = JSON.parse(r.stdout);
      results.arm64[key] = { seconds: r.seconds, maxRssMiB: r.maxRssMiB, digest: s.digest, stages: s.stages };
    }
  } finally {
    rmSync(multi, { force: true });
  }
  const refAfter = plainArm64('plain-mm-arm64-after.tar');
  const ref = (refBefore.seconds + refAfter.seconds) / 2;
  results.mmdebstrapArm64 = { secondsBefore: refBefore.seconds, secondsAfter: refAfter.seconds };
  lines.push(
    `| plain \`mmdebstrap --variant=minbase --architectures=arm64 bookworm\` to a tarball (reference) | ${refBefore.seconds.toFixed(1)} s before, ${refAfter.seconds.toFixed(1)} s after the builds | – |`,
  );
  for (const [key, b] of Object.entries(results.arm64)) {
    const stage = (n) => b.stages.find((x) => x.stage === n)?.seconds ?? 0;
    lines.push(
      `| \`imgfactory build --arch arm64${key === 'debootstrap' ? ' --bootstrapper debootstrap' : ''}\`, cold package cache | ${b.seconds.toFixed(1)} s (${(b.seconds / ref).toFixed(2)}× mmdebstrap arm64) | bootstrap ${stage('bootstrap').toFixed(0)} s, upgrade ${stage('upgrade').toFixed(0)} s; peak RSS ${b.maxRssMiB} MiB |`,
    );
  }
}

if (!only || only === 'layer') {
  // packLayer against `tar --sort=name | gzip -6` over the same tree (a minbase root).
  const tree = opt('--tree') ?? join(work, 'plain');
  if (only === 'layer' && !opt('--tree'))
    timed(['debootstrap', '--variant=minbase', 'bookworm', tree, mirror], { env: { PATH: process.env.PATH, LC_ALL: 'C' } });
  const script = `
    const l = await import(${JSON.stringify(join(repo, 'dist/layer/index.js'))});
    // Timed from the tree walk on, as the tar reference is: snapshot (lstat, xattrs, order) + pack.
    const t0 = performance.now();
    const snap = await l.snapshotTree(${JSON.stringify(tree)}, { exclude: ['dev', 'proc', 'sys', 'run', 'tmp', 'var/cache/apt/archives'] });
    const info = await l.packLayer({ root: ${JSON.stringify(tree)}, snapshot: snap, sourceDateEpoch: 1700000000, outFile: ${JSON.stringify(join(work, 'layer.tar.gz'))} });
    console.log(JSON.stringify({ packSeconds: (performance.now() - t0) / 1000, size: info.size, uncompressed: info.uncompressedSize, maxRssMiB: process.resourceUsage().maxRSS / 1024 }));`;
  const tarArgv = [
    'sh',
    '-c',
    `tar --sort=name --numeric-owner --mtime=@1700000000 --exclude=./dev/* --exclude=./proc/* --exclude=./sys/* --exclude=./run/* --exclude=./tmp/* --exclude=./var/cache/apt/archives -C ${tree} -cf - . | gzip -n -6 > ${join(work, 'ref.tar.gz')}`,
  ];
  // Whichever side ran first read the tree from disk for both: read it once, untimed, so both
  // find it in the page cache; then each runs twice, interleaved, and the mean of its two counts.
  execFileSync('sh', ['-c', `tar -C ${tree} -cf - . | cat > /dev/null`]);
  const sha = () =>
    execFileSync('sha256sum', [join(work, 'layer.tar.gz')])
      .toString()
      .split(' ')[0];
  const mine = JSON.parse(timed(['node', '--input-type=module', '-e', script]).stdout);
  const firstSha = sha();
  const tarFirst = timed(tarArgv);
  const again = JSON.parse(timed(['node', '--input-type=module', '-e', script]).stdout);
  const identical = sha() === firstSha;
  const tarAgain = timed(tarArgv);
  const tarRef = { seconds: (tarFirst.seconds + tarAgain.seconds) / 2 };
  const packSeconds = (mine.packSeconds + again.packSeconds) / 2;
  const refSize = Number(execFileSync('stat', ['-c', '%s', join(work, 'ref.tar.gz')]).toString());
  results.layer = { packLayer: mine, packLayerAgain: again, identical, tarGzip: { seconds: [tarFirst.seconds, tarAgain.seconds], size: refSize } };
  lines.push(
    `| \`snapshotTree\` + \`packLayer\` (tree walk included, as in tar) over a minbase tree, mean of 2 | ${packSeconds.toFixed(1)} s (${(tarRef.seconds / packSeconds).toFixed(2)}× as fast as tar\\|gzip; second run ${identical ? 'byte-identical' : 'DIFFERENT'}) | ${mb(mine.size)} MB | peak RSS ${Math.round(mine.maxRssMiB)} MiB for ${mb(mine.uncompressed)} MB of tar |`,
  );
  lines.push(`| \`tar --sort=name \\| gzip -n -6\` (reference, mean of 2) | ${tarRef.seconds.toFixed(1)} s | ${mb(refSize)} MB | – |`);
}

if (!only || only === 'push') {
  // `imgfactory push` against `skopeo copy oci: docker://`, both as processes, into the same local docker-registry,
  // each into a fresh repository, plain HTTP on loopback; the image is a debian-minimal build.
  const out = join(work, 'out', 'minimal-cold');
  if (!results.builds && !opt('--layout'))
    timed(
      [
        'node',
        join(repo, 'bin/imgfactory.js'),
        'build',
        join(repo, 'recipes/debian-minimal.ts'),
        '--out',
        out,
        '--work-dir',
        join(work, 'w'),
        '--deb-cache-dir',
        join(work, 'cache-a'),
      ],
      { env: process.env },
    );
  const layoutDir = opt('--layout') ?? join(out, 'debian-minimal');
  const { startLocalRegistry } = await import(join(repo, 'dist/registry/index.js'));
  // A fresh registry for every push, so neither side can skip or mount blobs it saw before.
  const fresh = async (fn) => {
    const registry = await startLocalRegistry({});
    try {
      return await fn(registry.host);
    } finally {
      await registry.stop();
    }
  };
  // Like for like: both sides run as processes (start-up included) from the same layout.
  const ourPush = (host, env = process.env) =>
    timed(['node', join(repo, 'bin/imgfactory.js'), 'push', layoutDir, `${host}/bench/debian-minimal:12`, '--insecure', '--tag', '12.0.0', '--json'], { env });
  // Node 20 reads and parses NODE_EXTRA_CA_CERTS (with its whole bundled root store) when the
  // process starts, whether or not it ever opens a TLS connection; Go reads the system store
  // when a TLS connection first needs it. Where the variable is set, the push is measured both
  // as the environment has it and without it, so the table shows what that costs.
  const withoutExtraCa = process.env.NODE_EXTRA_CA_CERTS
    ? Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_EXTRA_CA_CERTS'))
    : undefined;
  const runs = [];
  const pushRuns = 5;
  for (let i = 0; i < pushRuns; i++) {
    // `imgfactory push` as a process, as users run it (node start-up included), like skopeo.
    const mine = await fresh(async (host) => {
      const first = ourPush(host);
      const r = JSON.parse(first.stdout);
      // Unchanged re-push into the same repository: HEADs only, no blob read or sent.
      const again = ourPush(host);
      return {
        seconds: first.seconds,
        bytes: r.bytesUploaded,
        blobs: r.blobsUploaded,
        repushSeconds: again.seconds,
        repushBlobs: JSON.parse(again.stdout).blobsUploaded,
      };
    });
    const bare = withoutExtraCa ? await fresh(async (host) => ourPush(host, withoutExtraCa).seconds) : undefined;
    // The push itself, as `build --push` and the scheduled publish run it: inside a process whose
    // modules are loaded, but its first exchange with a registry (cold code paths included).
    const engine = await fresh(async (host) => {
      const script = `const { publishImage } = await import(${JSON.stringify(join(repo, 'dist/registry/index.js'))});
const t0 = performance.now();
await publishImage({ layoutDir: ${JSON.stringify(layoutDir)}, ref: '12.0.0', targets: [${JSON.stringify(`${host}/bench/debian-minimal:12`)}], env: {}, insecure: true });
process.stdout.write(String((performance.now() - t0) / 1000));`;
      return Number(timed(['node', '--input-type=module', '-e', script]).stdout);
    });
    const sk = await fresh(async (host) =>
      timed(['skopeo', 'copy', '--quiet', '--dest-tls-verify=false', `oci:${layoutDir}:12.0.0`, `docker://${host}/bench/debian-minimal:12`]),
    );
    runs.push({
      ours: mine.seconds,
      ...(bare !== undefined ? { oursWithoutExtraCa: bare } : {}),
      engine,
      skopeo: sk.seconds,
      bytes: mine.bytes,
      blobs: mine.blobs,
      repush: mine.repushSeconds,
      repushBlobs: mine.repushBlobs,
    });
  }
  // The floor each runtime puts under any command: start and exit, doing nothing.
  const startup = (argv, env = process.env) => {
    const t = [];
    for (let i = 0; i < 11; i++) t.push(timed(argv, { env }).seconds);
    return t.sort((a, b) => a - b)[5];
  };
  const nodeStart = startup(['node', '-e', '0']);
  const nodeStartBare = withoutExtraCa ? startup(['node', '-e', '0'], withoutExtraCa) : undefined;
  const skopeoStart = startup(['skopeo', '--version']);
  const med = (k) => runs.map((r) => r[k]).sort((a, b) => a - b)[Math.floor(runs.length / 2)];
  results.push = { runs, nodeStart, nodeStartWithoutExtraCa: nodeStartBare, skopeoStart };
  const ms = (s) => `${Math.round(s * 1000)} ms`;
  lines.push(
    `| \`imgfactory push\` debian-minimal to an empty local registry, as a process (median of ${pushRuns}) | ${med('ours').toFixed(2)} s (${(med('ours') / med('skopeo')).toFixed(2)}× skopeo) | ${mb(runs[0].bytes)} MB in ${runs[0].blobs} blobs | plain HTTP on loopback |`,
  );
  if (withoutExtraCa)
    lines.push(
      `| the same push without \`NODE_EXTRA_CA_CERTS\` in its environment (median of ${pushRuns}) | ${med('oursWithoutExtraCa').toFixed(2)} s (${(med('oursWithoutExtraCa') / med('skopeo')).toFixed(2)}× skopeo) | – | this machine sets it; Node 20 parses it at every start |`,
    );
  lines.push(
    `| the push inside a process that has loaded imgfactory, as \`build --push\` runs it (median of ${pushRuns}) | ${med('engine').toFixed(2)} s (${(med('engine') / med('skopeo')).toFixed(2)}× skopeo) | – | \`publishImage\`, its first registry exchange |`,
  );
  lines.push(`| \`skopeo copy oci: docker://\` to an empty local registry (reference, median of ${pushRuns}) | ${med('skopeo').toFixed(2)} s | – | – |`);
  lines.push(
    `| runtime floor: \`node -e 0\` / \`skopeo --version\` (median of 11) | ${ms(nodeStart)}${nodeStartBare !== undefined ? ` (${ms(nodeStartBare)} without \`NODE_EXTRA_CA_CERTS\`)` : ''} / ${ms(skopeoStart)} | – | start and exit of each runtime, doing nothing |`,
  );
  lines.push(
    `| unchanged re-push with \`imgfactory push\`, as a process (median of ${pushRuns}) | ${med('repush').toFixed(2)} s | ${runs[0].repushBlobs} blobs uploaded | – |`,
  );
}

if (!only || only === 'update') {
  // `check` of every shipped recipe when nothing changed, against a cold build of
  // debian-minimal; bytes counted by a loopback proxy in front of the mirror. Then the same
  // check forced onto the index path, and `diff` debian-minimal → python3.
  const { securityMirror } = await hostArchiveMirrors();
  const { createServer } = await import('node:http');
  let bytes = 0;
  let requests = 0;
  const proxy = createServer(async (req, res) => {
    const [, side, ...rest] = req.url.split('/');
    const upstream = `${side === 's' ? securityMirror : mirror}/${rest.join('/')}`;
    const r = await fetch(upstream);
    const body = Buffer.from(await r.arrayBuffer());
    bytes += body.length;
    requests += 1;
    res.writeHead(r.status, { 'content-length': body.length }).end(body);
  });
  await new Promise((ok) => proxy.listen(0, '127.0.0.1', ok));
  const port = proxy.address().port;
  const via = ['--mirror', `http://127.0.0.1:${port}/m`, '--security-mirror', `http://127.0.0.1:${port}/s`];
  const recipes = join(work, 'recipes');
  execFileSync('cp', ['-r', join(repo, 'recipes'), recipes]);
  const cli = (argv, env = process.env) => timed(['node', join(repo, 'bin/imgfactory.js'), ...argv], { env });
  const out = join(work, 'out-update');
  // Cold: a fresh archive cache, so the build downloads every index and .deb it needs.
  const coldEnv = { ...process.env, XDG_CACHE_HOME: join(work, 'cold-cache') };
  // Its own builds (the build section's outputs live in per-run folders): a cold one as the reference.
  const cold = cli(['build', join(recipes, 'debian-minimal.ts'), '--out', out, '--work-dir', join(work, 'w')], coldEnv).seconds;
  cli(['build', join(recipes, 'python3.ts'), '--out', out, '--work-dir', join(work, 'w')]);
  cli(['lock', join(recipes, 'debian-minimal.ts'), join(recipes, 'python3.ts'), '--out', out]);
  // Every recipe the check reads needs a lock; those not built here are locked from the archive.
  cli(['lock', join(recipes, 'static.ts'), '--from-archive']);
  cli(['lock', join(recipes, 'base.ts'), '--from-archive']);
  cli(['lock', join(recipes, 'debian-trixie-minimal.ts'), '--from-archive']);
  // The proxy answers from this process, so commands that go through it run asynchronously.
  const { spawn } = await import('node:child_process');
  const cliAsync = (argv) =>
    new Promise((ok, fail) => {
      const start = process.hrtime.bigint();
      const child = spawn('node', [join(repo, 'bin/imgfactory.js'), ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', fail);
      child.on('close', (status) => ok({ seconds: Number(process.hrtime.bigint() - start) / 1e9, stdout, stderr, status }));
    });
  const checkCache = join(work, 'check-cache');
  bytes = 0;
  requests = 0;
  const check = await cliAsync(['check', recipes, ...via, '--cache-dir', checkCache, '--json']);
  if (check.status !== 0) throw new Error(`check exited ${check.status}: ${check.stderr.slice(-500)}`);
  const checkBytes = bytes;
  const checkRequests = requests;
  const upToDate = JSON.parse(check.stdout).upToDate;
  results.check = { seconds: check.seconds, bytes: checkBytes, requests: checkRequests, upToDate, coldBuildSeconds: cold, ratio: check.seconds / cold };
  lines.push(
    `| \`imgfactory check recipes/\` (${readdirSync(recipes).filter((f) => f.endsWith('.ts')).length} recipes), nothing changed | ${check.seconds.toFixed(2)} s (${(check.seconds / cold).toFixed(3)}× a cold debian-minimal build of ${cold.toFixed(1)} s) | ${(checkBytes / 1024).toFixed(1)} KiB in ${checkRequests} requests | up to date: ${upToDate} |`,
  );
  // The index path: a lock whose InRelease no longer matches, with an empty cache (downloads indexes).
  const lockFile = join(recipes, 'debian-minimal.lock.json');
  const lock = JSON.parse(execFileSync('cat', [lockFile]).toString());
  lock.inReleases[0].sha256 = '0'.repeat(64);
  writeFileSync(lockFile, JSON.stringify(lock));
  bytes = 0;
  requests = 0;
  const changed = await cliAsync(['check', join(recipes, 'debian-minimal.ts'), ...via, '--cache-dir', join(work, 'check-cache-2'), '--json']);
  const changedSeconds = changed.seconds;
  results.checkIndexes = { seconds: changedSeconds, bytes, requests, status: changed.status };
  lines.push(
    `| \`imgfactory check\` debian-minimal, InRelease differs, empty cache (index path) | ${changedSeconds.toFixed(2)} s | ${mb(bytes)} MB in ${requests} requests | exit ${changed.status} |`,
  );
  proxy.close();
  // GNU time reports the peak RSS of the diff process (%M, KiB) on the last stderr line.
  const dr = spawnSync(
    '/usr/bin/time',
    ['-f', '%e %M', 'node', join(repo, 'bin/imgfactory.js'), 'diff', join(out, 'debian-minimal'), join(out, 'python3'), '--json'],
    { maxBuffer: 1 << 28 },
  );
  const [diffSeconds, rssKiB] = dr.stderr.toString().trim().split('\n').pop().split(' ').map(Number);
  const d = { seconds: diffSeconds, stdout: dr.stdout.toString() };
  const diff = JSON.parse(d.stdout);
  results.diff = { seconds: d.seconds, peakRssKiB: rssKiB, files: diff.files.added.length + diff.files.removed.length + diff.files.changed.length };
  lines.push(
    `| \`imgfactory diff out/debian-minimal out/python3\` | ${d.seconds.toFixed(2)} s | – | peak RSS ${Math.round(rssKiB / 1024)} MiB, ${results.diff.files} files differ |`,
  );
}

results.loadAverageAtEnd = os.loadavg();
mkdirSync(resultsDir, { recursive: true });
writeFileSync(join(resultsDir, 'latest.json'), JSON.stringify(results, null, 2));
console.log('| what | time | compressed | unpacked / notes |\n|---|---|---|---|');
console.log(lines.join('\n'));
console.log(
  `\nload average (1, 5, 15 min): ${results.loadAverageAtStart.map((x) => x.toFixed(1)).join(', ')} at start, ${results.loadAverageAtEnd.map((x) => x.toFixed(1)).join(', ')} at end, ${results.cpus} CPUs`,
);
rmSync(work, { recursive: true, force: true });
