'use strict';

// vsl-client.js, the one file a user copies next to their code: it is exactly what the
// modules make (generated, never edited), and it works alone, with nothing beside it.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { build, OUTPUT } = require('../scripts/build-single-file');
const VSLClient = require('..');

// Its types, vsl-client.d.ts, are generated and checked with the others (types.test.js).
test('the checked-in vsl-client.js is what sdk/js makes', () => {
  const hint = 'run: node sdk/js/scripts/build-single-file.js';
  assert.equal(fs.readFileSync(OUTPUT, 'utf8'), build(), `vsl-client.js is stale; ${hint}`);
});

test('copied alone into an empty folder, it is the whole client', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vsl-client-'));
  try {
    fs.copyFileSync(OUTPUT, path.join(dir, 'vsl-client.js'));
    const script = `
      const VSLClient = require('./vsl-client');
      const client = new VSLClient({ apiKey: 'k', baseUrl: 'http://vsl.test' });
      console.log(JSON.stringify({
        version: VSLClient.VERSION, baseUrl: client.baseUrl,
        methods: ['generateImage', 'generateVideo', 'generateAudio', 'generate', 'getStatus',
          'waitForCompletion', 'cancelJob', 'listJobs', 'models', 'download']
          .filter((m) => typeof client[m] === 'function'),
        errors: ['RateLimitError', 'ConflictError', 'JobFailedError'].filter((e) => typeof VSLClient[e] === 'function'),
        verifyWebhook: typeof VSLClient.verifyWebhook,
      }));`;
    const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: dir, encoding: 'utf8' }));
    assert.equal(out.version, VSLClient.VERSION);
    assert.equal(out.baseUrl, 'http://vsl.test');
    assert.equal(out.methods.length, 10);
    assert.equal(out.errors.length, 3);
    assert.equal(out.verifyWebhook, 'function');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('it requires nothing but Node built-ins', () => {
  const text = fs.readFileSync(OUTPUT, 'utf8');
  const outside = [...text.matchAll(/require\('([^'.][^']*)'\)/g)].map((m) => m[1])
    .filter((name) => !name.startsWith('node:'));
  assert.deepEqual(outside, []);
});
