'use strict';

// The TypeScript declarations (types/, vsl-client.d.ts): checked in exactly as the JSDoc makes
// them (scripts/build-types.js), with no `any`, naming what the code exports, and right for
// code written against them (test/types/usage.ts, usage.mts).

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const ts = require('typescript');
const { buildTypes, strayDeclarations, typeCheck, ROOT } = require('../scripts/build-types');
const VSLClient = require('..');

let built;
/** What the build makes, made once (it compiles the sources). */
function declarations() {
  built ??= buildTypes();
  return built;
}

function parse(name) {
  return ts.createSourceFile(name, declarations().get(name), ts.ScriptTarget.Latest, true);
}

test('the checked-in declarations are what the JSDoc makes', () => {
  const hint = 'run: npm run build:types (in sdk/js)';
  for (const [name, text] of declarations()) {
    const file = path.join(ROOT, name);
    assert.ok(fs.existsSync(file), `${name} is missing; ${hint}`);
    assert.equal(fs.readFileSync(file, 'utf8'), text, `${name} is stale; ${hint}`);
  }
  assert.deepEqual(strayDeclarations(declarations()), [], `not generated any more; ${hint}`);
});

test('no declaration is any', () => {
  const found = [];
  for (const name of declarations().keys()) {
    const file = parse(name);
    file.forEachChild(function walk(node) {
      if (node.kind === ts.SyntaxKind.AnyKeyword) {
        const { line } = file.getLineAndCharacterOfPosition(node.getStart(file));
        found.push(`${name}:${line + 1}: ${file.text.split('\n')[line].trim()}`);
      }
      node.forEachChild(walk);
    });
  }
  assert.deepEqual(found, [], 'give these a JSDoc type');
});

test('the class declares exactly its public methods, its internals private, and every name on it', () => {
  const file = parse('types/lib/client.d.ts');
  const declared = file.statements.find((s) => ts.isClassDeclaration(s) && s.name.text === 'VSLClient');
  const isPrivate = (member) => (ts.getModifiers(member) || []).some((m) => m.kind === ts.SyntaxKind.PrivateKeyword);
  const members = declared.members.filter((m) => m.name && !ts.isConstructorDeclaration(m));
  const publicMethods = members.filter((m) => ts.isMethodDeclaration(m) && !isPrivate(m)).map((m) => m.name.text);
  const runtimeMethods = Object.getOwnPropertyNames(VSLClient.prototype)
    .filter((n) => n !== 'constructor' && !n.startsWith('_'));
  assert.deepEqual(publicMethods.sort(), runtimeMethods.sort());
  const exposed = members.filter((m) => m.name.text.startsWith('_') && !isPrivate(m)).map((m) => m.name.text);
  assert.deepEqual(exposed, [], 'mark these @private');

  const namespace = file.statements.find((s) => ts.isModuleDeclaration(s) && s.name.text === 'VSLClient');
  const names = namespace.body.statements.flatMap((s) => (ts.isExportDeclaration(s) ? s.exportClause.elements : []))
    .map((e) => e.name.text);
  const statics = Object.keys(VSLClient);
  assert.deepEqual(statics.filter((n) => !names.includes(n)), [], 'set on the class but not declared');
  const esm = declarations().get('types/index.d.mts');
  for (const name of statics.filter((n) => n !== 'default')) {
    assert.match(esm, new RegExp(`^export (const|\\{) ?${name}\\b`, 'm'), `index.d.mts does not export ${name}`);
  }
});

test('code written against the declarations type-checks, strict', () => {
  assert.equal(typeCheck(path.join(ROOT, 'test', 'types', 'tsconfig.json')), '');
});

test('the same code type-checks against vsl-client.d.ts alone', () => {
  assert.equal(typeCheck(path.join(ROOT, 'test', 'types', 'tsconfig.single-file.json')), '');
});
