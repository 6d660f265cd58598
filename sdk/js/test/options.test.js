'use strict';

// Per-request options (idempotencyKey, timeout, maxRetries, withOptions) and the page object of
// GET /jobs, against a scripted fetch.

const test = require('node:test');
const assert = require('node:assert/strict');
const { VSLClient, jsonResponse, apiError, fakeClient } = require('./fakes');

const JOB = { jobId: 'job-1', status: 'pending', estimatedTime: 5, estimatedCost: 0.003,
  replicateId: null, message: 'Job submitted' };
const done = { jobId: 'job-1', status: 'completed', result: { originalUrl: 'http://o' } };

test('a caller\'s idempotencyKey is sent on every attempt of each POST, and is not a parameter', async () => {
  const { client, calls } = fakeClient([apiError(500, 'X'), jsonResponse(202, JOB),
    jsonResponse(200, { ...done, status: 'cancelled' }), jsonResponse(200, done)]);
  await client.generateImage({ prompt: 'a fox' }, { idempotencyKey: 'order-42' });
  await client.cancelJob('job-1', { idempotencyKey: 'cancel-42' });
  await client.run({ modelId: 'sdxl', mediaType: 'image', prompt: 'x' }, { idempotencyKey: 'run-42' });
  assert.deepEqual(calls.map((c) => c.headers.get('idempotency-key')),
    ['order-42', 'order-42', 'cancel-42', 'run-42']);
  assert.deepEqual(JSON.parse(calls[0].body).parameters, { prompt: 'a fox' });
  await assert.rejects(client.generateImage({ prompt: 'a fox' }, { idempotencyKey: '' }), TypeError);
});

test('an upload takes its own idempotencyKey; the presigned PUT carries none', async () => {
  const upload = { uploadId: 'up-1', uploadUrl: 'http://bucket.test/up-1', expiresAt: 'x' };
  const { client, calls } = fakeClient([jsonResponse(201, upload), new Response(null, { status: 200 })]);
  await client.upload(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0]), { idempotencyKey: 'up-key' });
  assert.equal(calls[0].headers.get('idempotency-key'), 'up-key');
  assert.equal(calls[1].headers.get('idempotency-key'), null);
});

test('per-call maxRetries and withOptions change the retries of that call or copy only', async () => {
  const { client, calls } = fakeClient([apiError(500, 'X')], { maxRetries: 3 });
  await assert.rejects(client.getStatus('job-1', { maxRetries: 0 }), VSLClient.InternalServerError);
  assert.equal(calls.length, 1);
  const once = client.withOptions({ maxRetries: 1, timeout: 1234 });
  assert.ok(once instanceof VSLClient);
  assert.equal(once.timeout, 1234);
  await assert.rejects(once.getStatus('job-1'), VSLClient.InternalServerError);
  assert.equal(calls.length, 1 + 2);
  await assert.rejects(client.getStatus('job-1'), VSLClient.InternalServerError);
  assert.equal(calls.length, 3 + 4);
  assert.equal(client.maxRetries, 3);
  assert.equal(client.timeout, 60_000);
  assert.throws(() => client.withOptions({ maxRetries: -1 }), TypeError);
});

test('a per-call timeout bounds that call\'s attempts', async () => {
  const { client } = fakeClient(['hang'], { maxRetries: 0 });
  const started = Date.now();
  const error = await client.getStatus('job-1', { timeout: 30 }).catch((e) => e);
  assert.ok(error instanceof VSLClient.APITimeoutError, String(error));
  assert.match(error.message, /30 ms/);
  const quick = await client.withOptions({ timeout: 20 }).models().catch((e) => e);
  assert.ok(quick instanceof VSLClient.APITimeoutError);
  assert.ok(Date.now() - started < 30_000);
});

test('listJobsPage is a page: data, nextCursor, hasNextPage, nextPage with the same filters', async () => {
  const pages = [{ jobs: [done, done], nextCursor: 'c1' }, { jobs: [], nextCursor: 'c2' },
    { jobs: [{ ...done, jobId: 'j3' }], nextCursor: null }];
  const { client, calls } = fakeClient(pages.map((page) => jsonResponse(200, page)));
  const page = await client.listJobsPage({ status: 'completed', pageSize: 2 });
  assert.ok(page instanceof VSLClient.JobPage);
  assert.equal(page.data.length, 2);
  assert.equal(page.nextCursor, 'c1');
  assert.ok(page.hasNextPage());
  const second = await page.nextPage();
  assert.deepEqual(second.data, []);
  const last = await second.nextPage();
  assert.deepEqual(last.data.map((j) => j.jobId), ['j3']);
  assert.equal(last.hasNextPage(), false);
  await assert.rejects(last.nextPage(), (e) => e instanceof VSLClient.VSLError && e.code === 'NO_NEXT_PAGE');
  assert.deepEqual(calls.map((c) => new URL(c.url).search), [
    '?status=completed&limit=2', '?status=completed&limit=2&cursor=c1', '?status=completed&limit=2&cursor=c2']);
});

test('iterating a page goes through the later pages; a cursor resumes a listing', async () => {
  const pages = [{ jobs: [{ ...done, jobId: 'j1' }], nextCursor: 'c1' }, { jobs: [{ ...done, jobId: 'j2' }], nextCursor: null }];
  const { client, calls } = fakeClient([...pages, pages[1]].map((page) => jsonResponse(200, page)));
  const seen = [];
  for await (const job of await client.listJobsPage({ modelId: 'sdxl' })) seen.push(job.jobId);
  assert.deepEqual(seen, ['j1', 'j2']);
  const resumed = await client.listJobsPage({ modelId: 'sdxl', cursor: 'c1' });
  assert.deepEqual(resumed.data.map((j) => j.jobId), ['j2']);
  assert.equal(new URL(calls[2].url).search, '?modelId=sdxl&cursor=c1');
});
