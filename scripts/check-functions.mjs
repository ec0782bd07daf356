// Fails when a function in src/ is longer than MAX_LINES lines of its own (nested functions count
// as their own), unless a comment `// long function: <reason>` stands just above it.
// Usage: node scripts/check-functions.mjs [--max N] [--list]
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import ts from 'typescript';

const { values } = parseArgs({ options: { max: { type: 'string', default: '80' }, list: { type: 'boolean', default: false } } });
const MAX_LINES = Number(values.max);
const root = new URL('..', import.meta.url).pathname;

function* files(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* files(p);
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) yield p;
  }
}

const isFunction = (n) =>
  ts.isFunctionDeclaration(n) ||
  ts.isMethodDeclaration(n) ||
  ts.isArrowFunction(n) ||
  ts.isFunctionExpression(n) ||
  ts.isConstructorDeclaration(n) ||
  ts.isGetAccessorDeclaration(n) ||
  ts.isSetAccessorDeclaration(n);

const found = [];
for (const file of files(join(root, 'src'))) {
  const text = readFileSync(file, 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const lineOf = (pos) => sf.getLineAndCharacterOfPosition(pos).line;
  const span = (n) => lineOf(n.getEnd()) - lineOf(n.getStart(sf)) + 1;
  /** Lines of `fn` not inside a function nested in it. */
  const ownLines = (fn) => {
    let nested = 0;
    const walk = (n) => {
      if (n !== fn && isFunction(n)) {
        nested += span(n);
        return;
      }
      ts.forEachChild(n, walk);
    };
    walk(fn);
    return span(fn) - nested;
  };
  const excused = (fn) => {
    const start = fn.getFullStart();
    const leading = text.slice(start, fn.getStart(sf));
    const statement = fn.parent && ts.isVariableDeclaration(fn.parent) ? text.slice(fn.parent.parent.parent.getFullStart(), fn.getStart(sf)) : '';
    return /\/\/ long function: \S/.test(leading + statement);
  };
  const visit = (n) => {
    if (isFunction(n)) {
      const own = ownLines(n);
      if (own > MAX_LINES || values.list) {
        const name = n.name?.getText(sf) ?? (ts.isVariableDeclaration(n.parent) ? n.parent.name.getText(sf) : '(anonymous)');
        found.push({ where: `${relative(root, file)}:${lineOf(n.getStart(sf)) + 1}`, name, own, excused: excused(n) });
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
}
found.sort((a, b) => b.own - a.own);
const bad = found.filter((f) => f.own > MAX_LINES && !f.excused);
for (const f of values.list ? found.slice(0, 30) : found.filter((x) => x.own > MAX_LINES)) {
  console.log(`${f.own > MAX_LINES && !f.excused ? 'TOO LONG' : 'ok'}\t${f.own} lines\t${f.name}\t${f.where}${f.excused ? '\t(reason given)' : ''}`);
}
if (bad.length > 0) {
  console.error(`check-functions: ${bad.length} function(s) over ${MAX_LINES} lines of their own without a "// long function: <reason>" comment`);
  process.exit(1);
}
console.log(`check-functions: no function in src/ over ${MAX_LINES} lines of its own without a reason`);
