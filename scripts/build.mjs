#!/usr/bin/env node
// Bundle src/cli/main.ts into dist/sm-invoke.cjs and package it as a Node single
// executable application (SEA), dist/sm-invoke, for the machine's own Node.
//
//   node scripts/build.mjs [--no-minify] [--no-code-cache] [--no-strip] [--bundle-only]
//
// Steps: esbuild bundle -> sea-config.json + `node --experimental-sea-config`
// -> copy process.execPath (stripped if that still runs) -> postject the blob
// -> run the result from an empty temp dir with a scrubbed env and demand
// exactly `sm-invoke <version>`. Any failure exits non-zero, and a failed
// build leaves no dist/sm-invoke behind.
//
// Why not @yao-pkg/pkg --sea: it always fetches nodejs.org (version index,
// tarball, SHASUMS256) and has no CLI flag for the local node; its internal
// API with useLocalNode runs `npx postject` from a temp dir and swallows the
// failure (Promise.allSettled), so it "succeeds" with an un-injected plain
// node. See README.

import { spawnSync } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';

const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const paths = {
  entry: join(root, 'src', 'cli', 'main.ts'),
  bundle: join(dist, 'sm-invoke.cjs'),
  meta: join(dist, 'sm-invoke.meta.json'),
  startupModules: join(dist, 'startup-modules.json'),
  seaConfig: join(dist, 'sea-config.json'),
  blob: join(dist, 'sea-prep.blob'),
  binary: join(dist, 'sm-invoke'),
  binaryTmp: join(dist, 'sm-invoke.partial'),
};

class BuildError extends Error {}

const { values: opts } = parseArgs({
  options: {
    'no-minify': { type: 'boolean', default: false },
    'no-code-cache': { type: 'boolean', default: false },
    'no-strip': { type: 'boolean', default: false },
    'bundle-only': { type: 'boolean', default: false },
  },
});

const t0 = performance.now();
let tStep = t0;
function step(label) {
  const now = performance.now();
  console.log(`build: ${label} (${Math.round(now - tStep)} ms)`);
  tStep = now;
}
const rel = (p) => relative(root, p) || '.';
const mib = (n) => `${(n / 1048576).toFixed(1)} MiB`;

async function main() {
  const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));
  const version = pkg.version;
  if (typeof version !== 'string' || version === '') throw new BuildError('package.json has no version');

  await mkdir(dist, { recursive: true });
  // A stale binary must not survive a failed build.
  await Promise.all([paths.binary, paths.binaryTmp, paths.blob].map((p) => rm(p, { force: true })));

  await bundle(version);
  if (opts['bundle-only']) return;
  await makeBlob();
  await makeBinary();
  await verify(paths.binaryTmp, version);
  await rename(paths.binaryTmp, paths.binary);
  const { size } = await stat(paths.binary);
  console.log(`build: ok ${rel(paths.binary)} ${mib(size)}, total ${Math.round(performance.now() - t0)} ms`);
}

async function bundle(version) {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [paths.entry],
    outfile: paths.bundle,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: !opts['no-minify'],
    sourcemap: 'linked', // dist/sm-invoke.cjs.map; use `node --enable-source-maps dist/sm-invoke.cjs`
    metafile: true,
    logLevel: 'warning',
    define: {
      __SM_INVOKE_VERSION__: JSON.stringify(version),
      // import.meta is empty in CJS output; give .url a real value.
      'import.meta.url': '__smImportMetaUrl',
    },
    banner: { js: 'var __smImportMetaUrl=require("url").pathToFileURL(__filename).href;' },
    // Keep no `import()` in the output: bundled targets become lazy
    // `Promise.resolve().then(() => init_x())` wrappers, externals (node:*)
    // become require(). A SEA main script on Node 20 cannot run import().
    supported: { 'dynamic-import': false },
  });
  await writeFile(paths.meta, JSON.stringify(result.metafile));

  const out = result.metafile.outputs[rel(paths.bundle)];
  if (!out) throw new BuildError(`esbuild metafile has no entry for ${rel(paths.bundle)}`);
  const leftover = out.imports.filter((i) => i.kind === 'dynamic-import');
  if (leftover.length > 0) {
    throw new BuildError(`bundle still contains import() of: ${leftover.map((i) => i.path).join(', ')}`);
  }
  const nonBuiltin = out.imports.filter((i) => i.external && !isBuiltin(i.path));
  if (nonBuiltin.length > 0) {
    throw new BuildError(`bundle requires non-builtin externals (SEA cannot load them): ${nonBuiltin.map((i) => i.path).join(', ')}`);
  }
  const text = await readFile(paths.bundle, 'utf8');
  if (text.includes('execPath')) {
    console.warn('build: warning: the bundle uses process.execPath; inside dist/sm-invoke that is sm-invoke itself, not node');
  }
  const eager = eagerInputs(result.metafile, rel(paths.entry));
  const eagerSized = eager.map((p) => ({ path: p, bytesInOutput: out.inputs[p]?.bytesInOutput ?? 0 }));
  await writeFile(paths.startupModules, JSON.stringify(eagerSized, null, 2) + '\n');
  const eagerBytes = eagerSized.reduce((n, m) => n + m.bytesInOutput, 0);
  const total = Object.keys(out.inputs).length;
  step(
    `bundled ${rel(paths.bundle)} ${(out.bytes / 1024).toFixed(0)} KiB; ` +
      `evaluated at startup: ${eager.length}/${total} modules, ${(eagerBytes / 1024).toFixed(1)} KiB ` +
      `(details: node scripts/startup-bench.mjs --explain)`,
  );
}

const builtins = new Set(createRequire(import.meta.url)('node:module').builtinModules);
function isBuiltin(id) {
  return id.startsWith('node:') || builtins.has(id);
}

/**
 * Inputs reachable from the entry without crossing an import(): those module
 * bodies run at startup. (A require() inside a function body is counted as
 * eager too, so this is an upper bound for CommonJS dependencies.)
 */
function eagerInputs(metafile, entry) {
  const seen = new Set([entry]);
  const queue = [entry];
  while (queue.length > 0) {
    const input = metafile.inputs[queue.pop()];
    for (const imp of input?.imports ?? []) {
      if (imp.external || imp.kind === 'dynamic-import' || seen.has(imp.path)) continue;
      seen.add(imp.path);
      queue.push(imp.path);
    }
  }
  return [...seen];
}

async function makeBlob() {
  const config = {
    main: rel(paths.bundle),
    output: rel(paths.blob),
    disableExperimentalSEAWarning: true,
    useSnapshot: false,
    useCodeCache: !opts['no-code-cache'],
  };
  await writeFile(paths.seaConfig, JSON.stringify(config, null, 2) + '\n');
  run(process.execPath, ['--experimental-sea-config', paths.seaConfig], { cwd: root });
  const { size } = await stat(paths.blob).catch(() => {
    throw new BuildError(`node --experimental-sea-config did not write ${rel(paths.blob)}`);
  });
  step(`blob ${rel(paths.blob)} ${(size / 1024).toFixed(0)} KiB (useCodeCache: ${config.useCodeCache})`);
}

async function makeBinary() {
  await copyFile(process.execPath, paths.binaryTmp);
  await chmod(paths.binaryTmp, 0o755);
  const { size: before } = await stat(paths.binaryTmp);
  if (!opts['no-strip']) await tryStrip(before);

  // = npx postject <bin> NODE_SEA_BLOB <blob> --sentinel-fuse ..., without npx's registry lookups.
  const cli = join(dirname(createRequire(import.meta.url).resolve('postject')), 'cli.js');
  const r = spawnSync(process.execPath, [cli, paths.binaryTmp, 'NODE_SEA_BLOB', paths.blob, '--sentinel-fuse', SEA_FUSE], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // LIEF warns once per ELF note it cannot name (node's binary has many); harmless.
  const noteNoise = /^warning: Can't find string offset for section name '\.note[^']*'$/;
  const lines = `${r.stdout ?? ''}${r.stderr ?? ''}`
    .replace(/\x1b\[[0-9;]*m/g, '')
    .split('\n')
    .filter((l) => l.trim() !== '');
  const noise = lines.filter((l) => noteNoise.test(l)).length;
  for (const l of lines.filter((l) => !noteNoise.test(l))) console.log(`  postject: ${l}`);
  if (r.error || r.status !== 0) {
    throw new BuildError(`postject failed (exit ${r.status}${r.error ? `, ${r.error.message}` : ''})`);
  }
  await chmod(paths.binaryTmp, 0o755);
  step(`injected blob into ${rel(paths.binaryTmp)}${noise ? ` (${noise} harmless LIEF '.note' warnings hidden)` : ''}`);
}

/** Strip the copied node; keep the unstripped copy if strip is missing or breaks it. */
async function tryStrip(before) {
  const stripped = `${paths.binaryTmp}.stripped`;
  const r = spawnSync('strip', ['-o', stripped, paths.binaryTmp], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    console.warn(`build: warning: strip unavailable or failed, keeping unstripped node: ${r.error?.message ?? r.stderr.trim()}`);
    await rm(stripped, { force: true });
    return;
  }
  const probe = spawnSync(stripped, ['-p', '6*7'], { encoding: 'utf8', env: {} });
  if (probe.status !== 0 || probe.stdout !== '42\n') {
    console.warn('build: warning: stripped node does not run, keeping unstripped node');
    await rm(stripped, { force: true });
    return;
  }
  await rename(stripped, paths.binaryTmp);
  const { size: after } = await stat(paths.binaryTmp);
  step(`stripped node ${mib(before)} -> ${mib(after)}`);
}

/**
 * Run a copy of the binary from an empty temp dir, with PATH pointing at an
 * empty dir (no node), no NODE_* variables and no node_modules in reach.
 */
async function verify(binary, version) {
  const dir = await mkdtemp(join(tmpdir(), 'sm-invoke-verify-'));
  try {
    const emptyBin = join(dir, 'bin');
    await mkdir(emptyBin);
    const copy = join(dir, 'sm-invoke');
    await copyFile(binary, copy);
    await chmod(copy, 0o755);
    const env = { PATH: emptyBin, HOME: dir, TMPDIR: dir, LANG: 'C' };
    const exec = (args) => spawnSync(copy, args, { cwd: dir, env, encoding: 'utf8', timeout: 20_000 });

    const v = exec(['--version']);
    const want = `sm-invoke ${version}\n`;
    if (v.error || v.status !== 0 || v.stdout !== want) {
      const hint = /^v\d+\.\d+\.\d+/.test(v.stdout ?? '')
        ? 'it printed a Node version: the SEA blob was NOT injected, this is a plain node binary'
        : 'the packaged app did not answer --version as expected';
      throw new BuildError(
        `verification failed: ${hint}\n` +
          `  expected stdout ${JSON.stringify(want)}, exit 0\n` +
          `  got stdout ${JSON.stringify(v.stdout)}, stderr ${JSON.stringify(v.stderr)}, ` +
          `exit ${v.status}${v.signal ? ` signal ${v.signal}` : ''}${v.error ? ` error ${v.error.message}` : ''}`,
      );
    }
    if (v.stderr !== '') throw new BuildError(`verification failed: --version wrote to stderr: ${JSON.stringify(v.stderr)}`);

    // A SEA hands argv to the app: node's own flags must not be in play.
    const e = exec(['-e', 'console.log("node-flags-active")']);
    if (e.stdout.includes('node-flags-active')) {
      throw new BuildError('verification failed: `sm-invoke -e ...` ran code: the binary behaves as plain node');
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  step(`verified: --version from an empty temp dir with PATH=<empty> prints sm-invoke ${version}`);
}

function run(file, args, options) {
  const r = spawnSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...options });
  for (const l of `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n')) if (l.trim() !== '') console.log(`  ${l}`);
  if (r.error || r.status !== 0) {
    throw new BuildError(`${[file, ...args].join(' ')} failed (exit ${r.status}${r.error ? `, ${r.error.message}` : ''})`);
  }
  return r;
}

main().catch(async (err) => {
  await rm(paths.binaryTmp, { force: true }).catch(() => {});
  await rm(`${paths.binaryTmp}.stripped`, { force: true }).catch(() => {});
  console.error(`build: FAILED: ${err instanceof BuildError ? err.message : (err?.stack ?? err)}`);
  process.exitCode = 1;
});
