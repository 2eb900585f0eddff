#!/usr/bin/env node
// Counts what issue 14 measures in src/: type assertions (`x as T`, `<T>x`; `as const` left
// out), files over 300 lines, the longest functions, and import cycles among src/ files with
// type-only imports included. Run: node scripts/code-stats.mjs [--json]; with --check it prints
// only the cycles and exits 1 if there is one (part of `npm run lint`).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const ts = require('typescript');
const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const src = join(root, 'src');

const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (/\.(ts|js)$/.test(name) && !name.endsWith('.d.ts')) files.push(path);
  }
})(src);

let casts = 0;
const castsPerFile = new Map();
const functions = [];
const lines = [];
const edges = new Map();

for (const file of files) {
  const text = readFileSync(file, 'utf8');
  const rel = relative(root, file);
  lines.push({ file: rel, lines: text.split('\n').length - (text.endsWith('\n') ? 1 : 0) });
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const imports = new Set();
  const visit = (node) => {
    if (ts.isAsExpression(node) || ts.isTypeAssertionExpression?.(node)) {
      const type = node.type;
      const isConst =
        ts.isTypeReferenceNode(type) &&
        ts.isIdentifier(type.typeName) &&
        type.typeName.text === 'const';
      if (!isConst) {
        casts++;
        castsPerFile.set(rel, (castsPerFile.get(rel) ?? 0) + 1);
      }
    }
    if (
      ts.isFunctionDeclaration(node) ||
      ts.isMethodDeclaration(node) ||
      ts.isArrowFunction(node) ||
      ts.isFunctionExpression(node) ||
      ts.isConstructorDeclaration(node)
    ) {
      const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
      let name = node.name?.getText?.(sf);
      if (!name && ts.isVariableDeclaration(node.parent)) name = node.parent.name.getText(sf);
      if (!name && ts.isPropertyAssignment(node.parent)) name = node.parent.name.getText(sf);
      functions.push({
        where: `${rel}:${start + 1}`,
        name: name ?? '(anonymous)',
        lines: end - start + 1,
      });
    }
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      const spec = node.moduleSpecifier.text;
      if (spec.startsWith('.')) {
        const base = resolve(dirname(file), spec.replace(/\.js$/, ''));
        for (const candidate of [`${base}.ts`, `${base}.js`, join(base, 'index.ts')])
          if (files.includes(candidate)) {
            imports.add(relative(root, candidate));
            break;
          }
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  edges.set(rel, imports);
}

// Tarjan's strongly connected components: every component of more than one file is a cycle.
let index = 0;
const stack = [];
const info = new Map();
const cycles = [];
function strong(v) {
  info.set(v, { index, low: index, on: true });
  index++;
  stack.push(v);
  for (const w of edges.get(v) ?? []) {
    if (!info.has(w)) {
      strong(w);
      info.get(v).low = Math.min(info.get(v).low, info.get(w).low);
    } else if (info.get(w).on) info.get(v).low = Math.min(info.get(v).low, info.get(w).index);
  }
  if (info.get(v).low === info.get(v).index) {
    const component = [];
    let w;
    do {
      w = stack.pop();
      info.get(w).on = false;
      component.push(w);
    } while (w !== v);
    if (component.length > 1) cycles.push(component.sort());
  }
}
for (const v of edges.keys()) if (!info.has(v)) strong(v);

const long = lines.filter((f) => f.lines > 300).sort((a, b) => b.lines - a.lines);
const longest = functions.sort((a, b) => b.lines - a.lines).slice(0, 10);
const topCasts = [...castsPerFile].sort((a, b) => b[1] - a[1]).slice(0, 10);
if (process.argv.includes('--check')) {
  for (const c of cycles)
    console.error(`import cycle (type-only imports included): ${c.join(' <-> ')}`);
  process.exit(cycles.length > 0 ? 1 : 0);
} else if (process.argv.includes('--json')) {
  console.log(JSON.stringify({ casts, long, longest, cycles }, null, 2));
} else {
  console.log(`src files: ${files.length}, lines: ${lines.reduce((s, f) => s + f.lines, 0)}`);
  console.log(`type assertions (as / <T>, not 'as const'): ${casts}`);
  for (const [file, n] of topCasts) console.log(`  ${String(n).padStart(3)}  ${file}`);
  console.log(`files over 300 lines: ${long.length}`);
  for (const f of long) console.log(`  ${String(f.lines).padStart(4)}  ${f.file}`);
  console.log('longest functions:');
  for (const f of longest) console.log(`  ${String(f.lines).padStart(4)}  ${f.name}  ${f.where}`);
  console.log(`import cycles (type-only imports included): ${cycles.length}`);
  for (const c of cycles) console.log(`  ${c.join(' <-> ')}`);
}
