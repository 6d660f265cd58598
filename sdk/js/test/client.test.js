'use strict';

// The client's surface against a scripted fetch: request shapes, error mapping, waiting,
// the models cache, configuration, downloads, and the ESM and TypeScript entry points.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { VSLClient, jsonResponse, apiError, fakeClient } = require('./fakes');

const JOB_ID = '550e8400-e29b-41d4-a716-446655440000';
const JOB = { jobId: JOB_ID, status: 'pending', estimatedTime: 5, estimatedCost: 0.003,
  replicateId: 'abc123', message: 'Media generation started' };
const RESULT = { originalUrl: 'http://s3.test/bucket/original.png?X-Amz-Signature=abc', contentType: 'image/png' };
const view = (status, extra = {}) => ({ jobId: JOB_ID, status, modelId: 'flux-schnell', ...extra });
const MODELS = { models: [
  { modelId: 'flux-schnell', mediaType: 'image', estimatedTime: 5 },
  { modelId: 'stability-video', mediaType: 'video', estimatedTime: 60 },
  { modelId: 'musicgen', mediaType: 'audio', estimatedTime: 30 }] };

test('generateImage sends the documented request with the key and the default user', async () => {
  const { client, calls } = fakeClient([jsonResponse(202, JOB)]);
  assert.deepEqual(await client.generateImage({ prompt: 'A beautiful sunset', width: 512 }), JOB);
  const [call] = calls;
  assert.equal(call.url, 'http://vsl.test/homolog/generate-media');
  assert.equal(call.method, 'POST');
  assert.equal(call.headers.get('x-api-key'), 'vsl_test_key');
  assert.equal(call.headers.get('content-type'), 'application/json');
  assert.deepEqual(JSON.parse(call.body), { mediaType: 'image', modelId: 'flux-schnell', userId: 'user123',
    parameters: { prompt: 'A beautiful sunset', width: 512 } });
});

test('generateVideo and generateAudio: the image URL becomes `image`; per-call userId wins', async () => {
  const { client, calls } = fakeClient([jsonResponse(202, JOB)]);
  await client.generateVideo({ imageUrl: 'https://example.com/in.jpg', fps: 12, userId: 'bob' });
  await client.generateAudio({ prompt: 'Epic', duration: 8, modelId: 'musicgen' });
  assert.deepEqual(JSON.parse(calls[0].body), { mediaType: 'video', modelId: 'stability-video',
    userId: 'bob', parameters: { image: 'https://example.com/in.jpg', fps: 12 } });
  assert.deepEqual(JSON.parse(calls[1].body), { mediaType: 'audio', modelId: 'musicgen',
    userId: 'user123', parameters: { prompt: 'Epic', duration: 8 } });
});

test('without any userId the body has none (a key bound to a user)', async () => {
  const { client, calls } = fakeClient([jsonResponse(202, JOB)], { userId: null }); // null: not even VSL_USER_ID
  await client.generateImage({ prompt: 'x' });
  assert.equal('userId' in JSON.parse(calls[0].body), false);
});

test('provider, cache and webhookUrl go in the body, never among the parameters, only when given', async () => {
  const { client, calls } = fakeClient([(url) => (url.endsWith('/models') ? jsonResponse(200, MODELS)
    : jsonResponse(202, url.endsWith('/generate-media') ? JOB : { uploadId: 'up-1', uploadUrl: 'http://bucket.test/up-1' }))]);
  await client.generateImage({ prompt: 'a fox', provider: 'fal', cache: false, webhookUrl: 'https://hooks.test/vsl' });
  await client.generateVideo({ image: Buffer.from('not really a png'), provider: 'replicate', cache: true });
  await client.generateAudio({ prompt: 'Epic', webhookUrl: 'https://hooks.test/audio' });
  await client.generate({ modelId: 'musicgen', prompt: 'Epic', provider: 'replicate', cache: null });
  await client.generate({ modelId: 'sdxl', mediaType: 'image', prompt: 'x', provider: undefined });
  const bodies = calls.filter((c) => c.url.endsWith('/generate-media')).map((c) => JSON.parse(c.body));
  assert.deepEqual(bodies[0], { mediaType: 'image', modelId: 'flux-schnell', userId: 'user123', provider: 'fal',
    cache: false, webhookUrl: 'https://hooks.test/vsl', parameters: { prompt: 'a fox' } });
  assert.deepEqual(bodies[1], { mediaType: 'video', modelId: 'stability-video', userId: 'user123',
    provider: 'replicate', cache: true, parameters: { image: 'upload:up-1' } });
  assert.deepEqual(bodies[2], { mediaType: 'audio', modelId: 'musicgen', userId: 'user123',
    webhookUrl: 'https://hooks.test/audio', parameters: { prompt: 'Epic' } });
  assert.deepEqual(bodies[3], { mediaType: 'audio', modelId: 'musicgen', userId: 'user123', provider: 'replicate',
    parameters: { prompt: 'Epic' } }); // null: the service's default
  assert.deepEqual(bodies[4], { mediaType: 'image', modelId: 'sdxl', userId: 'user123', parameters: { prompt: 'x' } });
});

test('generate() finds the mediaType in /models once and caches it', async () => {
  const { client, calls } = fakeClient([(url) => (url.endsWith('/models')
    ? jsonResponse(200, MODELS) : jsonResponse(202, JOB))]);
  await client.generate({ modelId: 'musicgen', prompt: 'Epic', duration: 4 });
  await client.generate({ modelId: 'stability-video', image: 'https://example.com/in.jpg' });
  assert.deepEqual(calls.map((c) => c.url.split('/').pop()), ['models', 'generate-media', 'generate-media']);
  assert.deepEqual(JSON.parse(calls[1].body), { mediaType: 'audio', modelId: 'musicgen', userId: 'user123',
    parameters: { prompt: 'Epic', duration: 4 } });
  assert.equal(JSON.parse(calls[2].body).mediaType, 'video');
});

test('generate() with an unknown model reloads the catalog once, then names the models', async () => {
  const { client, calls } = fakeClient([jsonResponse(200, MODELS)]);
  const error = await client.generate({ modelId: 'dall-e', prompt: 'x' }).catch((e) => e);
  assert.ok(error instanceof VSLClient.VSLError);
  assert.equal(error.code, 'UNKNOWN_MODEL');
  assert.match(error.details, /flux-schnell, stability-video, musicgen/);
  assert.equal(calls.length, 2);
});

test('generate() with an explicit mediaType asks nothing else', async () => {
  const { client, calls } = fakeClient([jsonResponse(202, JOB)]);
  await client.generate({ modelId: 'sdxl', mediaType: 'image', prompt: 'x' });
  assert.equal(calls.length, 1);
});

test('each documented status maps to its error with status, code, details, retryAfter, body', async () => {
  const expected = { 400: 'BadRequestError', 401: 'AuthenticationError', 403: 'PermissionDeniedError',
    404: 'NotFoundError', 409: 'ConflictError', 422: 'UnprocessableEntityError', 429: 'RateLimitError',
    500: 'InternalServerError', 502: 'InternalServerError', 503: 'InternalServerError' };
  for (const [status, name] of Object.entries(expected)) {
    const headers = status === '429' ? { 'Retry-After': '3600' } : {};
    const { client } = fakeClient([apiError(Number(status), `CODE_${status}`, headers)], { maxRetries: 0 });
    const error = await client.getStatus(JOB_ID).catch((e) => e);
    assert.ok(error instanceof VSLClient[name], `${status}: ${error.name}`);
    assert.ok(error instanceof VSLClient.APIStatusError && error instanceof VSLClient.APIError);
    assert.ok(error instanceof VSLClient.VSLError);
    assert.equal(error.name, name);
    assert.equal(error.status, Number(status));
    assert.equal(error.code, `CODE_${status}`);
    assert.equal(error.details, `details of CODE_${status}`);
    assert.equal(error.retryAfter, status === '429' ? 3600 : null);
    assert.equal(error.body.code, `CODE_${status}`);
    assert.match(error.message, new RegExp(`^${status} error ${status}: details of CODE_${status}$`));
  }
});

test('other statuses are a plain APIStatusError; a body that is not JSON is kept as text', async () => {
  const { client } = fakeClient([apiError(415, 'UNSUPPORTED_MEDIA_TYPE')]);
  const error = await client.getStatus(JOB_ID).catch((e) => e);
  assert.equal(error.constructor, VSLClient.APIStatusError);
  assert.equal(error.status, 415);
  const gateway = await fakeClient([new Response('<html>Bad Gateway</html>', { status: 502 })],
    { maxRetries: 0 }).client.models().catch((e) => e);
  assert.ok(gateway instanceof VSLClient.InternalServerError);
  assert.equal(gateway.code, 'HTTP_502');
  assert.equal(gateway.details, '<html>Bad Gateway</html>');
  assert.equal(gateway.body, '<html>Bad Gateway</html>');
});

test("the spec's error handling reads error.status and error.retryAfter in seconds", async () => {
  const { client } = fakeClient([apiError(429, 'RATE_LIMIT_EXCEEDED', { 'Retry-After': '120' }, { retryAfter: 120 })]);
  try {
    await client.generateImage({ prompt: 'x' });
    assert.fail('no error');
  } catch (error) {
    assert.equal(error.status, 429);
    assert.equal(error.retryAfter * 1000, 120000);
  }
});

test('waitForCompletion polls until completed, reports each change, returns the result', async () => {
  const { client, calls, delays } = fakeClient([jsonResponse(200, view('pending')),
    jsonResponse(200, view('processing')), jsonResponse(200, view('processing')),
    jsonResponse(200, view('completed', { result: RESULT }))]);
  const updates = [];
  const result = await client.waitForCompletion(JOB, { onUpdate: (v) => updates.push(v.status) });
  assert.deepEqual(result, RESULT);
  assert.deepEqual(updates, ['pending', 'processing', 'completed']);
  assert.equal(calls.length, 4);
  assert.ok(calls.every((c) => c.url === `http://vsl.test/homolog/status/${JOB_ID}`));
  // A 5 s estimate: first poll after 0.5 s, then growing by half each time.
  assert.deepEqual(delays, [500, 750, 1125]);
});

test('the poll interval follows the model estimate when only a jobId is given', async () => {
  const { client, delays } = fakeClient([(url) => (url.endsWith('/models') ? jsonResponse(200, MODELS)
    : jsonResponse(200, { ...view('processing'), modelId: 'musicgen' }))]);
  await client.models();
  await assert.rejects(client.waitForCompletion(JOB_ID, { timeout: 0 }), VSLClient.WaitTimeoutError);
  assert.deepEqual(delays, []);
  const waiting = fakeClient([jsonResponse(200, { ...view('processing'), modelId: 'musicgen' }),
    jsonResponse(200, view('completed', { result: RESULT }))]);
  waiting.client._models = Promise.resolve(MODELS.models);
  await waiting.client.waitForCompletion(JOB_ID);
  assert.deepEqual(waiting.delays, [3000]); // musicgen: 30 s estimate
});

test('a failed job throws JobFailedError with its error and status view', async () => {
  const failed = view('failed', { error: 'NSFW content detected', completedAt: '2026-01-01T00:00:00Z' });
  const { client } = fakeClient([jsonResponse(200, failed)]);
  const error = await client.waitForCompletion(JOB_ID).catch((e) => e);
  assert.ok(error instanceof VSLClient.JobFailedError);
  assert.ok(error instanceof VSLClient.VSLError);
  assert.equal(error.code, 'JOB_FAILED');
  assert.equal(error.details, 'NSFW content detected');
  assert.equal(error.jobId, JOB_ID);
  assert.deepEqual(error.job, failed);
  assert.equal(error.status, null);
});

test('a cancelled job throws JobCancelledError', async () => {
  const { client } = fakeClient([jsonResponse(200, view('cancelled', { error: 'Cancelled' }))]);
  const error = await client.waitForCompletion(JOB_ID).catch((e) => e);
  assert.ok(error instanceof VSLClient.JobCancelledError);
  assert.equal(error.job.status, 'cancelled');
});

test('the wait times out with the last status seen', async () => {
  const { client, calls } = fakeClient([jsonResponse(200, view('processing'))]);
  const error = await client.waitForCompletion(JOB_ID, { timeout: 0 }).catch((e) => e);
  assert.ok(error instanceof VSLClient.WaitTimeoutError);
  assert.equal(error.code, 'WAIT_TIMEOUT');
  assert.equal(error.job.status, 'processing');
  assert.equal(calls.length, 1);
});

test('a throttled poll waits its Retry-After, even past 60 s when the wait allows it', async () => {
  const { client, calls, delays } = fakeClient([apiError(429, 'RATE_LIMIT_EXCEEDED', { 'Retry-After': '90' }),
    jsonResponse(200, view('completed', { result: RESULT }))]);
  assert.deepEqual(await client.waitForCompletion(JOB_ID, { timeout: 600_000 }), RESULT);
  assert.deepEqual(delays, [90_000]);
  assert.equal(calls.length, 2);
});

test('a throttled poll that cannot be retried before the deadline throws the RateLimitError', async () => {
  const { client, calls } = fakeClient([apiError(429, 'RATE_LIMIT_EXCEEDED', { 'Retry-After': '90' })]);
  const error = await client.waitForCompletion(JOB_ID, { timeout: 60_000 }).catch((e) => e);
  assert.ok(error instanceof VSLClient.RateLimitError);
  assert.equal(error.retryAfter, 90);
  assert.equal(calls.length, 1);
});

test('an aborted wait stops polling', async () => {
  const controller = new AbortController();
  const { client, calls } = fakeClient([jsonResponse(200, view('processing'))]);
  const waiting = client.waitForCompletion(JOB_ID, { signal: controller.signal,
    onUpdate: () => controller.abort() });
  await assert.rejects(waiting, { name: 'AbortError' });
  assert.equal(calls.length, 1);
});

test('configuration comes from the environment; missing key or URL is a clear error', () => {
  const saved = { ...process.env };
  try {
    Object.assign(process.env, { VSL_API_KEY: 'env_key', VSL_BASE_URL: 'https://api.test/homolog///', VSL_USER_ID: 'env_user' });
    const client = new VSLClient();
    assert.equal(client.apiKey, 'env_key');
    assert.equal(client.baseUrl, 'https://api.test/homolog');
    assert.equal(client.userId, 'env_user');
    assert.equal(new VSLClient({ apiKey: 'k', baseUrl: 'http://x', userId: 'u' }).userId, 'u');
    delete process.env.VSL_API_KEY;
    assert.throws(() => new VSLClient(), { code: 'CONFIGURATION', message: /VSL_API_KEY/ });
    process.env.VSL_API_KEY = 'env_key';
    delete process.env.VSL_BASE_URL;
    assert.throws(() => new VSLClient(), { code: 'CONFIGURATION', message: /VSL_BASE_URL/ });
    assert.throws(() => new VSLClient({ baseUrl: 'http://x', maxRetries: -1 }), TypeError);
    assert.throws(() => new VSLClient({ baseUrl: 'http://x', timeout: NaN }), TypeError);
  } finally {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
});

test('download streams the presigned URL to the file without sending the API key', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vsl-js-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);
  const { client, calls } = fakeClient([new Response(bytes, { status: 200 })]);
  const target = path.join(dir, 'out.png');
  assert.equal(await client.download(RESULT, target), target);
  assert.deepEqual(fs.readFileSync(target), bytes);
  assert.equal(calls[0].url, RESULT.originalUrl);
  assert.equal(calls[0].headers.get('x-api-key'), null);
  assert.deepEqual(fs.readdirSync(dir), ['out.png']);
});

test('a failed download leaves no file and says why', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vsl-js-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const { client } = fakeClient([new Response('<Error><Code>AccessDenied</Code></Error>', { status: 403 })]);
  const error = await client.download(RESULT.originalUrl, path.join(dir, 'out.png')).catch((e) => e);
  assert.ok(error instanceof VSLClient.PermissionDeniedError);
  assert.match(error.details, /AccessDenied/);
  assert.deepEqual(fs.readdirSync(dir), []);
});

test('ESM import gives the same class and named errors, by path and through "exports"', async () => {
  const esm = await import('../index.mjs');
  assert.equal(esm.default, VSLClient);
  assert.equal(esm.RateLimitError, VSLClient.RateLimitError);
  assert.equal(esm.VSLClient, VSLClient);
  // The package refers to itself by name, which resolves through package.json "exports".
  assert.equal((await import('vsl-media')).default, VSLClient);
  assert.equal(require('vsl-media'), VSLClient);
  assert.equal(require(path.join(__dirname, '..', '..', '..', 'sdk', 'js')), VSLClient);
});

test('cancelJob and cancel post to the job and resolve to its status view', async () => {
  const { client, calls } = fakeClient([jsonResponse(200, view('cancelled'))]);
  assert.deepEqual(await client.cancelJob({ jobId: JOB_ID }), view('cancelled'));
  assert.deepEqual(await client.cancel(`${JOB_ID}/x`), view('cancelled'));
  assert.deepEqual(calls.map((c) => [c.method, c.url]), [
    ['POST', `http://vsl.test/homolog/jobs/${JOB_ID}/cancel`],
    ['POST', `http://vsl.test/homolog/jobs/${JOB_ID}%2Fx/cancel`]]);
  const refused = fakeClient([apiError(409, 'JOB_NOT_CANCELLABLE', {}, { status: 'completed' })]);
  const conflict = await refused.client.cancel(JOB_ID).catch((e) => e);
  assert.ok(conflict instanceof VSLClient.ConflictError);
  assert.equal(conflict.code, 'JOB_NOT_CANCELLABLE');
  assert.equal(conflict.body.status, 'completed');
  assert.equal(refused.calls.length, 1);
});

test('listJobs follows the cursors through short and empty pages, with the same filters', async () => {
  const pages = [
    { jobs: [view('failed', { jobId: 'j1' }), view('failed', { jobId: 'j2' })], nextCursor: 'c1' },
    { jobs: [], nextCursor: 'c2' },
    { jobs: [view('failed', { jobId: 'j3' })], nextCursor: null }];
  const { client, calls } = fakeClient(pages.map((page) => jsonResponse(200, page)));
  const seen = [];
  for await (const job of client.listJobs({ status: 'failed', since: new Date(Date.UTC(2026, 0, 2)),
    pageSize: 2, userId: undefined })) seen.push(job.jobId);
  assert.deepEqual(seen, ['j1', 'j2', 'j3']);
  const filters = 'status=failed&since=2026-01-02T00%3A00%3A00.000Z&limit=2';
  assert.deepEqual(calls.map((c) => c.url), [
    `http://vsl.test/homolog/jobs?${filters}`,
    `http://vsl.test/homolog/jobs?${filters}&cursor=c1`,
    `http://vsl.test/homolog/jobs?${filters}&cursor=c2`]);
});

test('listJobs fetches a page only when the loop needs it', async () => {
  const { client, calls } = fakeClient([
    jsonResponse(200, { jobs: [view('completed', { jobId: 'j1' })], nextCursor: 'c1' })]);
  const jobs = client.listJobs();
  assert.equal(calls.length, 0);
  for await (const job of jobs) {
    assert.equal(job.jobId, 'j1');
    break;
  }
  assert.deepEqual(calls.map((c) => c.url), ['http://vsl.test/homolog/jobs']);
});

test("a failed download's error does not repeat the presigned URL's signature", async () => {
  const { connectionError } = require('./fakes');
  const { client } = fakeClient([connectionError('ECONNRESET')], { maxRetries: 0 });
  const error = await client.download(RESULT, path.join(os.tmpdir(), `vsl-js-${process.pid}.png`)).catch((e) => e);
  assert.ok(error instanceof VSLClient.APIConnectionError);
  assert.match(error.message, /GET http:\/\/s3\.test\/bucket\/original\.png failed/);
  assert.doesNotMatch(error.message, /Signature/);
});

test('the API key may be passed alone, as a string; nothing passed is ever ignored', () => {
  const saved = { ...process.env };
  try {
    Object.assign(process.env, { VSL_API_KEY: 'env_key', VSL_BASE_URL: 'http://env.test' });
    // A string was silently dropped for the environment's key, which then got a 401.
    assert.equal(new VSLClient('valid-key').apiKey, 'valid-key');
    const both = new VSLClient('valid-key', { baseUrl: 'http://x.test', userId: 'u' });
    assert.deepEqual([both.apiKey, both.baseUrl, both.userId], ['valid-key', 'http://x.test', 'u']);
    assert.throws(() => new VSLClient(''), { code: 'CONFIGURATION', message: /API key/ });
    assert.throws(() => new VSLClient('k', { apiKey: 'other' }), { name: 'TypeError', message: /twice/ });
    assert.throws(() => new VSLClient(42), { name: 'TypeError', message: /options object .* or an API key string, not a number/ });
    assert.throws(() => new VSLClient(['k']), { name: 'TypeError', message: /not an array/ });
    assert.throws(() => new VSLClient({ apiKey: 'k' }, { baseUrl: 'http://x' }), { name: 'TypeError', message: /one options object/ });
    assert.throws(() => new VSLClient({ apikey: 'k' }), { name: 'TypeError', message: /unknown option apikey/ });
    assert.throws(() => new VSLClient('k', 'http://x'), { name: 'TypeError', message: /must be an object/ });
  } finally {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
});

test('a key bound to no user is told where the userId comes from', async () => {
  const missing = apiError(400, 'MISSING_PARAMETER', {}, { details: 'userId: Field required (this API key is bound to no user)' });
  const { client, calls } = fakeClient([missing], { userId: undefined });
  client.userId = undefined;
  const error = await client.generateImage({ prompt: 'A fox' }).catch((e) => e);
  assert.ok(error instanceof VSLClient.BadRequestError, String(error));
  assert.ok(!('userId' in JSON.parse(calls[0].body)));
  assert.match(error.message, /userId.*VSL_USER_ID/);
  assert.match(error.details, /Pass \{ userId \}.*VSL_USER_ID/);

  const prompt = apiError(400, 'MISSING_PARAMETER', {}, { details: 'parameters.prompt: Field required' });
  const other = fakeClient([prompt]);
  const plain = await other.client.generateImage({}).catch((e) => e);
  assert.equal(plain.details, 'parameters.prompt: Field required');
});

test('the version has one source, package.json, and the package is publishable under MIT', async () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8'));
  assert.equal(VSLClient.VERSION, pkg.version);
  const { client, calls } = fakeClient([jsonResponse(200, { models: [] })]);
  await client.models();
  assert.equal(calls[0].headers.get('user-agent'), `vsl-js/${pkg.version}`);
  assert.equal(pkg.private, undefined);
  assert.equal(pkg.license, 'MIT');
  assert.ok(pkg.files.includes('LICENSE') && fs.existsSync(path.join(__dirname, '..', 'LICENSE')));
});
