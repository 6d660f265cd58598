'use strict';

// Writes the TypeScript declarations, generated from the JSDoc in index.js, index.mjs and lib/
// by TypeScript's compiler (tsconfig.json: checkJs holds the JSDoc to the code):
//   - types/ (index.d.ts, index.d.mts, lib/*.d.ts) for the npm package;
//   - vsl-client.d.ts, for vsl-client.js (scripts/build-single-file.js): the same declarations
//     in one file, as that file is used alone.
// `node scripts/build-types.js` (npm run build:types) writes them; `--check` exits 1 when a
// checked-in one is not what the sources make (the test suite compares them too). The package
// ships them, so installing it builds nothing.

const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const TSCONFIG = path.join(ROOT, 'tsconfig.json');
const SINGLE_FILE_TYPES = 'vsl-client.d.ts';
const TYPES_DIR = 'types';
const ENTRY_TYPES = `${TYPES_DIR}/index.d.ts`;

function typescript() {
  try {
    return require('typescript');
  } catch (error) {
    throw new Error(`TypeScript is not installed in sdk/js: run npm ci there (make install does). ${error.message}`);
  }
}

function header(source, note = '') {
  return `// GENERATED from the JSDoc in ${source} by sdk/js/scripts/build-types.js\n`
    + `// (npm run build:types): edit that and build again, never this file.${note}\n`;
}

/** The compiler's errors, one per line, paths relative to sdk/js; '' when there are none. */
function formatDiagnostics(ts, diagnostics) {
  return ts.formatDiagnostics(diagnostics, {
    getCanonicalFileName: (name) => name,
    getCurrentDirectory: () => ROOT,
    getNewLine: () => '\n',
  });
}

/** A tsconfig.json's program: its options and files, as `tsc -p` reads them. */
function program(ts, configPath, overrides = {}) {
  const config = ts.getParsedCommandLineOfConfigFile(configPath, overrides, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(formatDiagnostics(ts, [diagnostic]));
    },
  });
  if (config.errors.length) throw new Error(formatDiagnostics(ts, config.errors));
  return ts.createProgram({ rootNames: config.fileNames, options: config.options });
}

/**
 * The errors `tsc -p configPath` reports ('' when it compiles): used to type-check code written
 * against the declarations.
 */
function typeCheck(configPath, overrides = {}) {
  const ts = typescript();
  return formatDiagnostics(ts, ts.getPreEmitDiagnostics(program(ts, configPath, overrides)));
}

/** What tsc emits for tsconfig.json: declaration file (relative to sdk/js) to text. */
function emitDeclarations(ts) {
  const built = program(ts, TSCONFIG);
  const errors = formatDiagnostics(ts, ts.getPreEmitDiagnostics(built));
  if (errors) throw new Error(`the JSDoc does not type-check:\n${errors}`);
  const out = new Map();
  const result = built.emit(undefined, (file, text) => {
    out.set(path.relative(ROOT, file).split(path.sep).join('/'), text);
  }, undefined, true);
  // (emitSkipped is no sign: it is set for the package.json that lib/client.js reads.)
  if (result.diagnostics.length || !out.has(ENTRY_TYPES)) {
    throw new Error(`declaration emit failed:\n${formatDiagnostics(ts, result.diagnostics)}`);
  }
  return out;
}

/** The relative module a declaration file names, as the key of its own declaration file. */
function target(from, specifier) {
  const resolved = path.posix.join(path.posix.dirname(from), specifier).replace(/\.(d\.ts|js)$/, '');
  return `${resolved}.d.ts`;
}

function isRelative(node, ts) {
  return ts.isStringLiteral(node) && node.text.startsWith('.');
}

/**
 * vsl-client.d.ts: the declaration files that index.d.ts reaches, as one module. Each one's
 * relative imports are dropped (what they name is now in the same file, under the same name),
 * its exports become plain declarations, and the entry's `export =` is the file's only export.
 */
function bundle(ts, declarations) {
  const files = new Map();
  const parse = (name) => {
    if (!files.has(name)) {
      const text = declarations.get(name);
      if (text === undefined) throw new Error(`${name} is imported but was not generated`);
      files.set(name, ts.createSourceFile(name, text, ts.ScriptTarget.Latest, true));
    }
    return files.get(name);
  };
  const order = [];
  const declaredIn = new Map(); // top-level name -> the file declaring it
  const exportAssigned = new Map(); // file -> the name its `export =` names
  const visit = (name) => {
    if (order.includes(name)) return;
    order.push(name);
    const file = parse(name);
    for (const statement of file.statements) {
      const specifier = ts.isImportDeclaration(statement) ? statement.moduleSpecifier
        : ts.isImportEqualsDeclaration(statement) && ts.isExternalModuleReference(statement.moduleReference)
          ? statement.moduleReference.expression : null;
      if (specifier && isRelative(specifier, ts)) visit(target(name, specifier.text));
      else if (specifier) throw new Error(`${name} imports ${specifier.text}: only relative imports can be bundled`);
      if (ts.isExportAssignment(statement) && statement.isExportEquals) {
        exportAssigned.set(name, statement.expression.getText(file));
      }
      for (const declared of declaredNames(ts, statement)) {
        const where = declaredIn.get(declared);
        if (where && where !== name) throw new Error(`${declared} is declared in both ${where} and ${name}`);
        declaredIn.set(declared, name);
      }
    }
    file.forEachChild(function walk(node) {
      if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && isRelative(node.argument.literal, ts)) {
        visit(target(name, node.argument.literal.text));
      }
      node.forEachChild(walk);
    });
  };
  visit(ENTRY_TYPES);

  // Every dropped import must name, under its own name, what the bundle declares.
  const check = (local, imported, from) => {
    if (local !== imported || declaredIn.get(imported) !== from) {
      throw new Error(`${local} (${imported} of ${from}) cannot be bundled under its own name`);
    }
  };
  const parts = [];
  let exported = null;
  for (const name of order) {
    const file = files.get(name);
    const kept = [];
    for (const statement of file.statements) {
      if (ts.isImportDeclaration(statement)) {
        const from = target(name, statement.moduleSpecifier.text);
        const bindings = statement.importClause && statement.importClause.namedBindings;
        if (!bindings || !ts.isNamedImports(bindings) || statement.importClause.name) {
          throw new Error(`${name}: only named imports can be bundled: ${statement.getText(file)}`);
        }
        for (const element of bindings.elements) {
          check(element.name.text, (element.propertyName || element.name).text, from);
        }
      } else if (ts.isImportEqualsDeclaration(statement)) {
        const from = target(name, statement.moduleReference.expression.text);
        check(statement.name.text, exportAssigned.get(from), from);
      } else if (ts.isExportAssignment(statement)) {
        if (name === ENTRY_TYPES) exported = statement.getText(file);
      } else {
        kept.push(declarationText(ts, file, name, statement));
      }
    }
    if (kept.length) parts.push(`// ${name}\n${kept.join('\n')}\n`);
  }
  if (!exported) throw new Error(`${ENTRY_TYPES} has no export =`);
  const note = `\n// The types of vsl-client.js: ${ENTRY_TYPES} and what it imports, in one file.`;
  return `${header('index.js and lib/', note)}${exported}\n${parts.join('')}`;
}

function declaredNames(ts, statement) {
  if (ts.isVariableStatement(statement)) {
    return statement.declarationList.declarations.map((d) => d.name.getText());
  }
  if (ts.isImportDeclaration(statement) || ts.isImportEqualsDeclaration(statement)
      || ts.isExportAssignment(statement) || ts.isExportDeclaration(statement)) return [];
  return statement.name ? [statement.name.text] : [];
}

/** A statement's text with its leading comments, as a plain (not exported) declaration. */
function declarationText(ts, file, name, statement) {
  if (ts.isExportDeclaration(statement)) {
    throw new Error(`${name}: an export list cannot be bundled: ${statement.getText(file)}`);
  }
  const start = statement.getFullStart();
  const edits = []; // [from, to, replacement], positions in the file
  const modifiers = ts.canHaveModifiers(statement) ? ts.getModifiers(statement) || [] : [];
  const exportKeyword = modifiers.find((m) => m.kind === ts.SyntaxKind.ExportKeyword);
  if (exportKeyword) {
    const hasDeclare = modifiers.some((m) => m.kind === ts.SyntaxKind.DeclareKeyword);
    const needsDeclare = !hasDeclare && !ts.isTypeAliasDeclaration(statement) && !ts.isInterfaceDeclaration(statement);
    const next = ts.skipTrivia(file.text, exportKeyword.end);
    edits.push([exportKeyword.getStart(file), next, needsDeclare ? 'declare ' : '']);
  }
  statement.forEachChild(function walk(node) {
    if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && isRelative(node.argument.literal, ts)) {
      if (!node.qualifier) throw new Error(`${name}: cannot bundle ${node.getText(file)}`);
      edits.push([node.getStart(file), node.qualifier.getStart(file), node.isTypeOf ? 'typeof ' : '']);
      return;
    }
    node.forEachChild(walk);
  });
  let text = file.text.slice(start, statement.end);
  for (const [from, to, replacement] of edits.sort((a, b) => b[0] - a[0])) {
    text = text.slice(0, from - start) + replacement + text.slice(to - start);
  }
  return text.replace(/^\n+/, '');
}

/** Every generated declaration file (relative to sdk/js) and its text. */
function buildTypes() {
  const ts = typescript();
  const emitted = emitDeclarations(ts);
  const out = new Map();
  for (const [name, text] of [...emitted].sort(([a], [b]) => a.localeCompare(b))) {
    const source = path.posix.relative(TYPES_DIR, name).replace(/\.d\.(m?)ts$/, '.$1js');
    out.set(name, header(source) + text);
  }
  out.set(SINGLE_FILE_TYPES, bundle(ts, emitted));
  return out;
}

/** Declaration files in the package that the build does not make (a removed module's). */
function strayDeclarations(built) {
  const found = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
      const name = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(name);
      else found.push(name);
    }
  };
  if (fs.existsSync(path.join(ROOT, TYPES_DIR))) walk(TYPES_DIR);
  return found.filter((name) => !built.has(name));
}

if (require.main === module) {
  const check = process.argv.includes('--check');
  const built = buildTypes();
  for (const [name, text] of built) {
    const file = path.join(ROOT, name);
    const shown = path.relative(process.cwd(), file);
    if (!check) {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, text);
      console.log(`wrote ${shown}`);
    } else if (!fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== text) {
      console.error(`${shown} is not what sdk/js makes: run node ${path.relative(process.cwd(), __filename)}`);
      process.exitCode = 1;
    }
  }
  for (const name of strayDeclarations(built)) {
    console.error(`${name} is not generated any more: delete it`);
    process.exitCode = 1;
  }
}

module.exports = { buildTypes, strayDeclarations, typeCheck, ROOT };
