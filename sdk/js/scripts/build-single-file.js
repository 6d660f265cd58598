'use strict';

// Builds vsl-client.js: the client in one dependency-free file that a user copies next to their
// code (`const VSLClient = require('./vsl-client')`), generated from the modules in lib/, so
// there is one source. `node scripts/build-single-file.js` writes it; `--check` exits 1 when the
// checked-in file is not what the sources make (the test suite compares them too). Its types,
// vsl-client.d.ts, come from scripts/build-types.js.

const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const OUTPUT = path.join(ROOT, 'vsl-client.js');
const ENTRY = './index';

// The same resolution the generated file does: a relative request from a module, as a path
// from the package root without ".js".
function resolve(from, request) {
  const parts = from.split('/').slice(0, -1);
  for (const part of request.split('/')) {
    if (part === '..') parts.pop();
    else if (part !== '.') parts.push(part);
  }
  return `./${parts.slice(1).join('/')}`.replace(/\.js$/, '');
}

/** Every module the entry reaches through relative require() calls, in a stable order. */
function modules() {
  const found = new Map();
  const visit = (name) => {
    if (found.has(name) || name === './package.json') return;
    const source = fs.readFileSync(path.join(ROOT, `${name}.js`), 'utf8').trimEnd();
    found.set(name, source);
    const code = source.split('\n').filter((line) => !/^\s*(\/\/|\*|\/\*)/.test(line)).join('\n');
    for (const [, request] of code.matchAll(/require\('(\.[^']*)'\)/g)) visit(resolve(name, request));
  };
  visit(ENTRY);
  return found;
}

function build() {
  const { version } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const wrapped = [...modules()].map(([name, source]) =>
    `  ${JSON.stringify(name)}: function (module, exports, require) {\n${source}\n  },`);
  wrapped.push(`  "./package.json": function (module) {\n  module.exports = ${JSON.stringify({ version })};\n  },`);
  return `/*
 * vsl-client.js ${version}: the VSL Media API's JavaScript client in one file, with no
 * dependencies (Node 18+). Copy it next to your code:
 *
 *   const VSLClient = require('./vsl-client');
 *   const client = new VSLClient({ apiKey: process.env.VSL_API_KEY, baseUrl: '...' });
 *
 * GENERATED from sdk/js (index.js and lib/) by sdk/js/scripts/build-single-file.js: edit
 * those and run it again, never this file. The npm package (sdk/js) is the same client.
 */
'use strict';

module.exports = (function () {
const sources = {
${wrapped.join('\n')}
};
const cache = {};
const nodeRequire = typeof require === 'function' ? require : null;

${resolve.toString()}

function load(name) {
  if (!cache[name]) {
    const module = { exports: {} };
    cache[name] = module;
    const local = (request) => (request.startsWith('.') ? load(resolve(name, request)) : nodeRequire(request));
    sources[name](module, module.exports, local);
  }
  return cache[name].exports;
}

return load(${JSON.stringify(ENTRY)});
}());
`;
}

if (require.main === module) {
  const text = build();
  const shown = path.relative(process.cwd(), OUTPUT);
  if (!process.argv.includes('--check')) {
    fs.writeFileSync(OUTPUT, text);
    console.log(`wrote ${shown}`);
  } else if (!fs.existsSync(OUTPUT) || fs.readFileSync(OUTPUT, 'utf8') !== text) {
    console.error(`${shown} is not what sdk/js makes: run node ${path.relative(process.cwd(), __filename)}`);
    process.exitCode = 1;
  }
}

module.exports = { build, OUTPUT };
