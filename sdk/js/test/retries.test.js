'use strict';

// The retry rules, against a scripted fetch: which answers are retried, how long the client
// waits (recorded, not timed), and that a retried POST never makes a second job.

const test = require('node:test');
const assert = require('node:assert/strict');
const retry = require('../lib/retry');
const { VSLClient, jsonResponse, apiError, connectionError, fakeClient } = require('./fakes');

const JOB = { jobId: '550e8400-e29b-41d4-a716-446655440000', status: 'pending', estimatedTime: 5 };
const VIEW = { jobId: JOB.jobId, status: 'processing', modelId: 'flux-schnell' };

test('Retry-After in seconds is waited exactly, before any backoff', async () => {
  const { client, calls, delays } = fakeClient([
    apiError(503, 'SERVICE_UNAVAILABLE', { 'Retry-After': '3' }), jsonResponse(200, VIEW)]);
  assert.deepEqual(await client.getStatus(JOB.jobId), VIEW);
  assert.equal(calls.length, 2);
  assert.deepEqual(delays, [3000]);
});

test('Retry-After as an HTTP date is turned into seconds from now', () => {
  const now = Date.parse('Wed, 21 Oct 2015 07:27:50 GMT');
  assert.equal(retry.parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', now), 10);
  assert.equal(retry.parseRetryAfter('Wed, 21 Oct 2015 07:00:00 GMT', now), 0);
  assert.equal(retry.parseRetryAfter('2.5', now), 2.5);
});

test('an HTTP-date Retry-After drives the real retry delay', async () => {
  const at = new Date(Date.now() + 5000).toUTCString();
  const { client, delays } = fakeClient([
    apiError(429, 'RATE_LIMIT_EXCEEDED', { 'Retry-After': at }), jsonResponse(200, VIEW)]);
  await client.getStatus(JOB.jobId);
  assert.equal(delays.length, 1);
  assert.ok([4000, 5000].includes(delays[0]), `delay ${delays[0]}`);
});

test('a 429 without the header uses the retryAfter of the documented body', async () => {
  const { client, delays } = fakeClient([
    apiError(429, 'RATE_LIMIT_EXCEEDED', {}, { retryAfter: 2 }), jsonResponse(200, VIEW)]);
  await client.getStatus(JOB.jobId);
  assert.deepEqual(delays, [2000]);
});

test('unusable Retry-After values fall back to finite backoff, never NaN', async () => {
  for (const value of ['soon', '', '   ', '-1', 'NaN', 'Infinity', '1e3', '0x10', '3 s', 'Mon, 99 Foo']) {
    const { client, delays } = fakeClient([
      apiError(503, 'SERVICE_UNAVAILABLE', { 'Retry-After': value }), jsonResponse(200, VIEW)]);
    await client.getStatus(JOB.jobId);
    assert.equal(delays.length, 1, value);
    assert.ok(Number.isFinite(delays[0]) && delays[0] >= 375 && delays[0] <= 500,
      `Retry-After ${JSON.stringify(value)} gave ${delays[0]}`);
  }
});

test('backoff doubles from 0.5 s to 8 s with jitter in [0.75, 1] and is finite for any input', () => {
  for (let i = 0; i < 12; i += 1) {
    const base = Math.min(500 * 2 ** i, 8000);
    assert.equal(retry.backoffMs(i, () => 0), base);
    assert.equal(retry.backoffMs(i, () => 1), base * 0.75);
  }
  for (const index of [-1, 1.5, NaN, undefined, Infinity, 1e9]) {
    for (const random of [() => NaN, () => undefined, () => -3, () => 7, Math.random]) {
      const ms = retry.backoffMs(index, random);
      assert.ok(Number.isFinite(ms) && ms >= 375 && ms <= 8000, `${index} gave ${ms}`);
    }
  }
});

test('three attempts by default, then the mapped error with what the server said', async () => {
  const { client, calls, delays } = fakeClient([apiError(503, 'SERVICE_UNAVAILABLE')]);
  const error = await client.getStatus(JOB.jobId).catch((e) => e);
  assert.ok(error instanceof VSLClient.InternalServerError);
  assert.equal(error.status, 503);
  assert.equal(error.code, 'SERVICE_UNAVAILABLE');
  assert.equal(calls.length, 3);
  assert.equal(delays.length, 2);
  assert.ok(delays[0] >= 375 && delays[0] <= 500 && delays[1] >= 750 && delays[1] <= 1000, String(delays));
});

test('maxRetries bounds the attempts', async () => {
  for (const maxRetries of [0, 1, 4]) {
    const { client, calls } = fakeClient([apiError(500, 'INTERNAL_ERROR')], { maxRetries });
    await assert.rejects(client.getStatus(JOB.jobId), VSLClient.InternalServerError);
    assert.equal(calls.length, maxRetries + 1);
  }
});

test('a Retry-After longer than 60 s is not waited inside a call: the error says when', async () => {
  const { client, calls, delays } = fakeClient([
    apiError(429, 'RATE_LIMIT_EXCEEDED', { 'Retry-After': '3600' }, { retryAfter: 3600 })]);
  const error = await client.generateImage({ prompt: 'x' }).catch((e) => e);
  assert.ok(error instanceof VSLClient.RateLimitError);
  assert.equal(error.status, 429);
  assert.equal(error.retryAfter, 3600);
  assert.equal(calls.length, 1);
  assert.deepEqual(delays, []);
});

test('GET is retried on connection errors, timeouts-worthy statuses and 5xx', async () => {
  for (const failure of [connectionError('ECONNRESET'), connectionError('ECONNREFUSED'),
    apiError(500, 'INTERNAL_ERROR'), apiError(502, 'REPLICATE_ERROR'), apiError(504, 'HTTP_504'),
    apiError(408, 'REQUEST_TIMEOUT')]) {
    const { client, calls } = fakeClient([failure, jsonResponse(200, VIEW)]);
    assert.deepEqual(await client.getStatus(JOB.jobId), VIEW);
    assert.equal(calls.length, 2);
  }
});

test('client errors are never retried', async () => {
  for (const status of [400, 401, 403, 404, 405, 409, 413, 415, 422]) {
    const { client, calls } = fakeClient([apiError(status, `CODE_${status}`), jsonResponse(200, VIEW)]);
    await assert.rejects(client.getStatus(JOB.jobId), VSLClient.VSLError);
    assert.equal(calls.length, 1, String(status));
  }
});

test('without idempotentRetries a POST is not retried when the job may exist: 500, 502, 504, 408, reset, timeout', async () => {
  for (const failure of [apiError(500, 'INTERNAL_ERROR'), apiError(502, 'REPLICATE_ERROR'),
    apiError(504, 'HTTP_504'), apiError(408, 'REQUEST_TIMEOUT'), connectionError('ECONNRESET'), 'hang']) {
    const { client, calls } = fakeClient([failure, jsonResponse(202, JOB)], { timeout: 5, idempotentRetries: false });
    const error = await client.generateImage({ prompt: 'x' }).catch((e) => e);
    assert.ok(error instanceof VSLClient.VSLError, String(error));
    assert.equal(calls.length, 1, `${error.name} ${error.status}`);
  }
});

test('without idempotentRetries a POST is retried when nothing was created: refused, 429, 503, key in use', async () => {
  for (const failure of [connectionError('ECONNREFUSED'),
    apiError(429, 'RATE_LIMIT_EXCEEDED', { 'Retry-After': '1' }),
    apiError(503, 'SERVICE_UNAVAILABLE', { 'Retry-After': '2' }),
    apiError(409, 'IDEMPOTENCY_KEY_IN_USE', { 'Retry-After': '1' }, { retryAfter: 1 })]) {
    const { client, calls } = fakeClient([failure, failure, jsonResponse(202, JOB)], { idempotentRetries: false });
    assert.deepEqual(await client.generateImage({ prompt: 'x' }), JOB);
    assert.equal(calls.length, 3);
    const keys = new Set(calls.map((c) => c.headers.get('idempotency-key')));
    assert.equal(keys.size, 1, 'one Idempotency-Key for every attempt of one call');
    assert.match([...keys][0], /^vsl-js-[0-9a-f-]{36}$/);
  }
});

test('by default POSTs retry like GETs, one key per call', async () => {
  const { client, calls } = fakeClient([apiError(500, 'INTERNAL_ERROR'), jsonResponse(202, JOB),
    jsonResponse(202, JOB)]);
  assert.equal(client.idempotentRetries, true);
  await client.generateImage({ prompt: 'x' });
  assert.equal(calls.length, 2);
  assert.equal(calls[0].headers.get('idempotency-key'), calls[1].headers.get('idempotency-key'));
  await client.generateImage({ prompt: 'x' });
  assert.notEqual(calls[2].headers.get('idempotency-key'), calls[0].headers.get('idempotency-key'));
});

test('a hanging request times out as APITimeoutError; a GET retries it', async () => {
  const { client, calls } = fakeClient(['hang'], { timeout: 5, maxRetries: 1 });
  const error = await client.getStatus(JOB.jobId).catch((e) => e);
  assert.ok(error instanceof VSLClient.APITimeoutError);
  assert.ok(error instanceof VSLClient.APIConnectionError);
  assert.equal(error.code, 'TIMEOUT');
  assert.equal(calls.length, 2);
});

test("the caller's abort stops at once, without retries", async () => {
  const controller = new AbortController();
  const { client, calls } = fakeClient([() => {
    controller.abort();
    return connectionError('ECONNREFUSED');
  }]);
  await assert.rejects(client.getStatus(JOB.jobId, { signal: controller.signal }), { name: 'AbortError' });
  assert.equal(calls.length, 1);
});

test('connection errors say whether anything was sent', async () => {
  const refused = await fakeClient([connectionError('ECONNREFUSED')], { maxRetries: 0 })
    .client.models().catch((e) => e);
  assert.ok(refused instanceof VSLClient.APIConnectionError);
  assert.equal(refused.beforeSending, true);
  assert.equal(refused.code, 'CONNECTION_ERROR');
  assert.equal(refused.status, null);
  const reset = await fakeClient([connectionError('ECONNRESET')], { maxRetries: 0 })
    .client.models().catch((e) => e);
  assert.equal(reset.beforeSending, false);
});

/**
 * A service that keeps the first answer to each Idempotency-Key and replays it, as the real one
 * does, behind a network that loses the first answer after the job was made.
 */
function losesFirstAnswer() {
  const jobs = [];
  const kept = new Map();
  let requests = 0;
  const step = (url, init) => {
    requests += 1;
    const key = new Headers(init.headers).get('idempotency-key');
    if (kept.has(key)) return jsonResponse(202, kept.get(key), { 'Idempotent-Replayed': 'true' });
    const job = { ...JOB, jobId: `job-${jobs.length + 1}` };
    jobs.push(job);
    kept.set(key, job);
    return requests === 1 ? connectionError('ECONNRESET') : jsonResponse(202, job);
  };
  return { step, jobs };
}

test('a submission whose answer was lost is retried into the same single job', async () => {
  const server = losesFirstAnswer();
  const { client, calls, delays } = fakeClient([server.step]);
  const job = await client.generateImage({ prompt: 'x' });
  assert.equal(calls.length, 2);
  assert.equal(delays.length, 1);
  assert.equal(server.jobs.length, 1);
  assert.equal(job.jobId, server.jobs[0].jobId);
});

test('without idempotentRetries the lost answer is an error, not a second job', async () => {
  const server = losesFirstAnswer();
  const { client, calls } = fakeClient([server.step], { idempotentRetries: false });
  await assert.rejects(client.generateImage({ prompt: 'x' }), VSLClient.APIConnectionError);
  assert.equal(calls.length, 1);
  assert.equal(server.jobs.length, 1);
});

test('a key still in use is waited out by its Retry-After; other conflicts are never retried', async () => {
  const inUse = apiError(409, 'IDEMPOTENCY_KEY_IN_USE', { 'Retry-After': '1' }, { retryAfter: 1 });
  const { client, calls, delays } = fakeClient([inUse, jsonResponse(202, JOB)]);
  assert.deepEqual(await client.generateImage({ prompt: 'x' }), JOB);
  assert.deepEqual(delays, [1000]);
  assert.equal(calls[0].headers.get('idempotency-key'), calls[1].headers.get('idempotency-key'));
  for (const [status, code] of [[409, 'JOB_NOT_CANCELLABLE'], [422, 'IDEMPOTENCY_KEY_REUSED']]) {
    const refused = fakeClient([apiError(status, code), jsonResponse(202, JOB)]);
    const error = await refused.client.generateImage({ prompt: 'x' }).catch((e) => e);
    assert.equal(error.code, code);
    assert.equal(refused.calls.length, 1, code);
  }
});
