// Fails when an import points up the layers: cli -> core -> (aws, http) -> src/*.ts (wire, constants,
// errors, version). aws/ and http/ may import each other's modules only through src/*.ts; nothing
// imports cli/; the emulator imports nothing from the product, and the product imports the emulator
// only from cli/main.ts (the `emulate` subcommand).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const src = join(root, 'src');
const RANK = { cli: 3, core: 2, aws: 1, http: 1, '': 0 };

function* files(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* files(p);
    else if (p.endsWith('.ts')) yield p;
  }
}

const layerOf = (file) => {
  const rel = relative(src, file).split('/');
  return rel.length > 1 ? rel[0] : '';
};

const problems = [];
for (const file of files(src)) {
  const from = layerOf(file);
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(/(?:from|import\()\s*['"](\.[^'"]+)['"]/g)) {
    const target = normalize(join(dirname(file), m[1]));
    const to = layerOf(target);
    const where = `${relative(root, file)} imports ${relative(root, target)}`;
    if (from === 'emulator') {
      if (to !== 'emulator') problems.push(`${where}: the emulator imports nothing from the product`);
      continue;
    }
    if (to === 'emulator') {
      if (relative(src, file) !== 'cli/main.ts') problems.push(`${where}: only cli/main.ts starts the emulator`);
      continue;
    }
    if (from === to) continue;
    if (RANK[to] === undefined || RANK[from] === undefined) continue;
    if (RANK[to] >= RANK[from])
      problems.push(`${where}: ${from || 'src'} must not import ${to || 'src'} (imports point down: cli -> core -> aws, http -> src/*.ts)`);
  }
}
for (const p of problems) console.error(p);
if (problems.length > 0) {
  console.error(`check-layers: ${problems.length} import(s) against the layering (docs/architecture.md)`);
  process.exit(1);
}
console.log('check-layers: every import points down the layers');
