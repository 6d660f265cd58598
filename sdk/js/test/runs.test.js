'use strict';

// Uploads, run() and progress updates against a scripted fetch (no server, no clock).

const test = require('node:test');
const assert = require('node:assert/strict');
const { VSLClient, jsonResponse, apiError, fakeClient } = require('./fakes');

const JOB_ID = '550e8400-e29b-41d4-a716-446655440000';
const JOB = { jobId: JOB_ID, status: 'pending', estimatedTime: 5, estimatedCost: 0.05,
  replicateId: 'abc123', message: 'Media generation started' };
const RESULT = { originalUrl: 'http://s3.test/bucket/original.mp4', contentType: 'video/mp4' };
const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(40)]);
const UPLOAD = { uploadId: 'upl_abc', uploadUrl: 'http://bucket.test/uploads/upl_abc?X-Amz-Expires=900',
  expiresAt: '2030-01-02T00:00:00Z' };
const view = (status, extra = {}) => ({ jobId: JOB_ID, status, modelId: 'stability-video', ...extra });

test('run resolves to the result the service waited for, in one request', async () => {
  const { client, calls, delays } = fakeClient([jsonResponse(200, view('completed', { progress: 1, result: RESULT }))]);
  const seen = [];
  const result = await client.run({ modelId: 'flux-schnell', mediaType: 'image', prompt: 'a fox' },
    { onUpdate: (v) => seen.push(v.progress) });
  assert.deepEqual(result, RESULT);
  assert.equal(calls.length, 1);
  assert.equal(calls[0].headers.get('prefer'), 'wait=25');
  assert.deepEqual(seen, [1]);
  assert.deepEqual(delays, []);
});

test('run sends provider, cache and webhookUrl in the body, not among the parameters', async () => {
  const { client, calls } = fakeClient([jsonResponse(200, view('completed', { progress: 1, result: RESULT }))]);
  await client.run({ modelId: 'flux-schnell', mediaType: 'image', prompt: 'a fox', provider: 'replicate',
    cache: false, webhookUrl: 'https://hooks.test/vsl' });
  assert.deepEqual(JSON.parse(calls[0].body), { mediaType: 'image', modelId: 'flux-schnell', userId: 'user123',
    provider: 'replicate', cache: false, webhookUrl: 'https://hooks.test/vsl', parameters: { prompt: 'a fox' } });
});

test('run rejects with the typed error of a job that failed within the wait', async () => {
  const { client } = fakeClient([jsonResponse(200, view('failed', { error: 'CUDA out of memory' }))]);
  const error = await client.run({ modelId: 'flux-schnell', mediaType: 'image', prompt: 'x' }).catch((e) => e);
  assert.ok(error instanceof VSLClient.JobFailedError);
  assert.equal(error.job.error, 'CUDA out of memory');
});

test('run polls after a 202, telling onUpdate each change of stage or progress', async () => {
  const { client, calls } = fakeClient([
    jsonResponse(202, JOB),
    jsonResponse(200, view('processing', { stage: 'generating', progress: 0.3 })),
    jsonResponse(200, view('processing', { stage: 'generating', progress: 0.3 })),
    jsonResponse(200, view('processing', { stage: 'generating', progress: 0.6 })),
    jsonResponse(200, view('processing', { stage: 'storing', progress: 0.95 })),
    jsonResponse(200, view('completed', { progress: 1, result: RESULT }))]);
  const seen = [];
  const result = await client.run({ modelId: 'stability-video', mediaType: 'video', image: 'https://x.test/a.png' },
    { onUpdate: (v) => seen.push([v.stage ?? null, v.progress]) });
  assert.deepEqual(result, RESULT);
  assert.deepEqual(seen, [['generating', 0.3], ['generating', 0.6], ['storing', 0.95], [null, 1]]);
  assert.deepEqual(calls.map((c) => c.method), ['POST', 'GET', 'GET', 'GET', 'GET', 'GET']);
});

test("the server's wait fits the run's timeout and the client's request timeout", async () => {
  for (const [runTimeout, requestTimeout, expected] of [[300_000, 60_000, 'wait=25'], [5_000, 60_000, 'wait=5'],
    [300_000, 12_000, 'wait=7'], [300_000, 5_000, null]]) {
    const { client, calls } = fakeClient([jsonResponse(200, view('completed', { result: RESULT }))],
      { timeout: requestTimeout });
    await client.run({ modelId: 'flux-schnell', mediaType: 'image', prompt: 'x' }, { timeout: runTimeout });
    assert.equal(calls[0].headers.get('prefer'), expected);
  }
});

test('a Buffer, a Uint8Array, an ArrayBuffer or a Blob is uploaded, then named in the submit', async () => {
  for (const file of [PNG, new Uint8Array(PNG), PNG.buffer.slice(PNG.byteOffset, PNG.byteOffset + PNG.length),
    new Blob([PNG])]) {
    const { client, calls } = fakeClient([jsonResponse(201, UPLOAD), new Response(null, { status: 200 }),
      jsonResponse(202, JOB)]);
    await client.generateVideo({ image: file, num_frames: 14 });
    const [announce, put, submit] = calls;
    assert.deepEqual([announce.method, announce.url], ['POST', 'http://vsl.test/homolog/uploads']);
    assert.deepEqual(JSON.parse(announce.body), { contentType: 'image/png', size: PNG.length });
    assert.deepEqual([put.method, put.url], ['PUT', UPLOAD.uploadUrl]);
    assert.equal(put.headers.get('content-type'), 'image/png');
    assert.equal(put.headers.get('x-api-key'), null); // the link carries its own authorization
    assert.deepEqual(Buffer.from(put.body), PNG);
    assert.deepEqual(JSON.parse(submit.body).parameters, { image: 'upload:upl_abc', num_frames: 14 });
  }
});

test('upload resolves to the upload with its ref; the type comes from the bytes, else the Blob', async () => {
  const { client, calls } = fakeClient([jsonResponse(201, UPLOAD), new Response(null, { status: 200 }),
    jsonResponse(201, UPLOAD), new Response(null, { status: 200 })]);
  const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0, 0, 0]);
  assert.deepEqual(await client.upload(jpeg), { ...UPLOAD, ref: 'upload:upl_abc' });
  await client.upload(new Blob(['hello'], { type: 'text/plain' }));
  const types = calls.filter((c) => c.method === 'POST').map((c) => JSON.parse(c.body).contentType);
  assert.deepEqual(types, ['image/jpeg', 'text/plain']);
  await assert.rejects(client.upload('cat.jpg'), TypeError);
});

test("the service's refusal of an upload is a typed error", async () => {
  const { client } = fakeClient([apiError(413, 'UPLOAD_TOO_LARGE')]);
  const error = await client.upload(PNG).catch((e) => e);
  assert.ok(error instanceof VSLClient.VSLError);
  assert.equal(error.status, 413);
  assert.equal(error.code, 'UPLOAD_TOO_LARGE');
});

test('a URL string goes as it is; imageUrl still works; both at once is an error', async () => {
  const { client, calls } = fakeClient([jsonResponse(202, JOB)]);
  await client.generateVideo({ image: 'https://images.test/cat.jpg' });
  await client.generateVideo({ imageUrl: 'upload:upl_xyz' });
  assert.deepEqual(calls.map((c) => JSON.parse(c.body).parameters.image),
    ['https://images.test/cat.jpg', 'upload:upl_xyz']);
  await assert.rejects(client.generateVideo({ image: 'https://a.test/x.png', imageUrl: 'https://b.test/y.png' }),
    TypeError);
});
