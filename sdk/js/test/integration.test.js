'use strict';

// The client against the real local stack (API, AWS emulator, Replicate simulator).
// tests/sdk/test_js_sdk.py starts the stack, creates the extra keys and sets:
//   VSL_BASE_URL, VSL_API_KEY, VSL_USER_ID   the API and a key of an unbound client
//   VSL_SIMULATOR_URL, VSL_SIMULATOR_TOKEN    the simulator, for its faults
//   VSL_TEST_BOUND_KEY, VSL_TEST_BOUND_USER   a key bound to one user
//   VSL_TEST_LIMITED_KEY                      a key allowed 1 submission an hour, 2 polls a minute
//   VSL_JS_REQUIRE_INTEGRATION=1              missing settings fail instead of skipping

const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFile } = require('node:child_process');
const VSLClient = require('..');

const REQUIRED = ['VSL_BASE_URL', 'VSL_API_KEY', 'VSL_USER_ID', 'VSL_SIMULATOR_URL', 'VSL_SIMULATOR_TOKEN',
  'VSL_TEST_BOUND_KEY', 'VSL_TEST_BOUND_USER', 'VSL_TEST_LIMITED_KEY'];
const missing = REQUIRED.filter((name) => !process.env[name]);
const byHand = !process.env.VSL_JS_REQUIRE_INTEGRATION && !process.env.VSL_SIMULATOR_URL;
const skip = missing.length && byHand
  ? 'integration tests need the local stack: run `.venv/bin/python -m pytest tests/sdk/test_js_sdk.py` '
    + `(it starts the stack and sets ${REQUIRED.join(', ')})`
  : false;
if (missing.length && !skip) throw new Error(`integration settings missing: ${missing.join(', ')}`);

const env = process.env;
const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

function integration(name, fn) {
  return test(name, { skip }, async (t) => {
    await simulator('POST', '/_sim/reset');
    try {
      await fn(t);
    } finally {
      await simulator('POST', '/_sim/reset');
    }
  });
}

async function simulator(method, route, body) {
  const response = await fetch(env.VSL_SIMULATOR_URL + route, {
    method,
    headers: { Authorization: `Bearer ${env.VSL_SIMULATOR_TOKEN}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.ok(response.ok, `simulator ${method} ${route}: ${response.status}`);
  return response.json();
}

const faults = (changes) => simulator('POST', '/_sim/faults', changes);

/** A client whose every HTTP attempt and every wait between attempts is recorded. */
function observedClient(options = {}) {
  const attempts = [];
  const delays = [];
  const client = new VSLClient({
    fetch: (url, init) => {
      attempts.push(`${init.method} ${new URL(url).pathname}`);
      return fetch(url, init);
    },
    sleep: (ms, signal) => {
      delays.push(ms);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(resolve, ms);
        if (signal) signal.addEventListener('abort', () => { clearTimeout(timer); reject(signal.reason); }, { once: true });
      });
    },
    ...options,
  });
  return { client, attempts, delays };
}

function tempDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vsl-js-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** What the file's first bytes say it is. */
function mediaKind(file) {
  const head = fs.readFileSync(file).subarray(0, 12);
  const ascii = (from, to) => head.subarray(from, to).toString('latin1');
  if (head[0] === 0x89 && ascii(1, 4) === 'PNG') return 'png';
  if (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'jpeg';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'webp';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WAVE') return 'wav';
  if (ascii(4, 8) === 'ftyp') return 'mp4';
  if (ascii(0, 3) === 'ID3' || (head[0] === 0xff && (head[1] & 0xe0) === 0xe0)) return 'mp3';
  return `unknown (${head.toString('hex')})`;
}

async function rejection(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected an error');
}

function uniqueUser(prefix) {
  return `js-${prefix}-${crypto.randomUUID().slice(0, 8)}`;
}

async function collect(iterable) {
  const items = [];
  for await (const item of iterable) items.push(item);
  return items;
}

function assertApiError(error, Class, status, code) {
  assert.ok(error instanceof Class, `${error && error.name}: ${error && error.message}`);
  assert.ok(error instanceof VSLClient.VSLError);
  assert.equal(error.status, status);
  if (code) assert.equal(error.code, code);
  assert.equal(typeof error.details, 'string');
  assert.equal(error.body.code, error.code);
}

integration('models() lists the catalog with media types', async () => {
  const models = await new VSLClient().models();
  const byId = Object.fromEntries(models.map((m) => [m.modelId, m.mediaType]));
  assert.deepEqual(byId, { 'flux-schnell': 'image', sdxl: 'image', 'stability-video': 'video', musicgen: 'audio' });
  for (const model of models) assert.ok(model.estimatedTime > 0 && model.parameters.type === 'object', model.modelId);
});

integration('an image: submit, watch every status change, get the result, download a real PNG', async (t) => {
  const client = new VSLClient();
  const job = await client.generateImage({ prompt: 'A beautiful sunset', modelId: 'flux-schnell', width: 512, height: 512 });
  assert.equal(job.status, 'pending');
  assert.match(job.jobId, /^[0-9a-f-]{36}$/);
  const updates = [];
  const result = await client.waitForCompletion(job.jobId, { timeout: 60_000,
    onUpdate: (v) => updates.push(JSON.stringify([v.status, v.stage ?? null, v.progress])) });
  assert.equal(updates.at(-1), JSON.stringify(['completed', null, 1]));
  assert.ok(updates.every((u, i) => i === 0 || u !== updates[i - 1]), 'one update per change');
  const progress = updates.map((u) => JSON.parse(u)[2]).filter((p) => p !== null);
  assert.deepEqual(progress, [...progress].sort((a, b) => a - b), 'progress never goes back');
  assert.equal(result.width, 512);
  const status = await client.getStatus(job.jobId);
  assert.equal(status.status, 'completed');
  assert.equal(status.userId, env.VSL_USER_ID);
  assert.equal(status.result.s3Path, result.s3Path);
  const file = path.join(tempDir(t), 'sunset.png');
  assert.equal(await client.download(result, file), file);
  assert.equal(mediaKind(file), 'png');
  assert.equal(fs.statSync(file).size, result.fileSize);
});

integration('a video from the sample image, downloaded as real MP4', async (t) => {
  const client = new VSLClient();
  const job = await client.generateVideo({ imageUrl: `${env.VSL_SIMULATOR_URL}/samples/input.jpg`, num_frames: 14, fps: 7 });
  const result = await client.waitForCompletion(job, { timeout: 120_000 });
  assert.equal(result.contentType, 'video/mp4');
  const file = path.join(tempDir(t), 'clip.mp4');
  await client.download(result, file);
  assert.equal(mediaKind(file), 'mp4');
});

integration('a video from a local file: run() uploads it and resolves to the result', async (t) => {
  const client = new VSLClient();
  const file = path.join(tempDir(t), 'cat.jpg'); // an image file on disk
  const sample = await fetch(`${env.VSL_SIMULATOR_URL}/samples/input.jpg`);
  fs.writeFileSync(file, Buffer.from(await sample.arrayBuffer()));
  const stages = [];
  const result = await client.run({ modelId: 'stability-video', image: fs.readFileSync(file), num_frames: 14 },
    { timeout: 120_000, onUpdate: (v) => stages.push(v.status) });
  assert.equal(result.contentType, 'video/mp4');
  assert.equal(stages.at(-1), 'completed');
  const clip = path.join(tempDir(t), 'cat.mp4');
  await client.download(result, clip);
  assert.equal(mediaKind(clip), 'mp4');
  // and as a Blob, through generateVideo
  const job = await client.generateVideo({ image: new Blob([fs.readFileSync(file)]), num_frames: 14 });
  assert.equal((await client.waitForCompletion(job, { timeout: 120_000 })).contentType, 'video/mp4');
});

integration('run() with Prefer: wait answers an image in one request', async () => {
  const { client, attempts } = observedClient();
  const result = await client.run({ modelId: 'flux-schnell', prompt: 'A lighthouse', width: 512, height: 512 });
  assert.equal(result.width, 512);
  assert.deepEqual(attempts.filter((a) => !a.endsWith('/models')), ['POST /generate-media']);
});

integration('audio, downloaded as real WAV', async (t) => {
  const client = new VSLClient();
  const job = await client.generateAudio({ prompt: 'Epic orchestral music with drums', duration: 2 });
  const result = await client.waitForCompletion(job.jobId, { timeout: 60_000 });
  const file = path.join(tempDir(t), 'song.wav');
  await client.download(result, file);
  assert.equal(mediaKind(file), 'wav');
  assert.equal(result.duration, 2);
});

integration('generate() finds the media type itself and runs any model', async (t) => {
  const { client, attempts } = observedClient();
  const job = await client.generate({ modelId: 'sdxl', prompt: 'A lighthouse', width: 512, height: 512 });
  await client.generate({ modelId: 'flux-schnell', prompt: 'A second one', width: 512, height: 512 });
  assert.deepEqual(attempts, ['GET /models', 'POST /generate-media', 'POST /generate-media']);
  const status = await client.getStatus(job.jobId);
  assert.equal(status.mediaType, 'image');
  assert.equal(status.modelId, 'sdxl');
  const file = path.join(tempDir(t), 'lighthouse');
  await client.download(await client.waitForCompletion(job, { timeout: 60_000 }), file);
  assert.ok(['png', 'jpeg', 'webp'].includes(mediaKind(file)), mediaKind(file));
});

integration('provider pins the job, cache reuses a result; fal, which this stack lacks, is a 400 saying so', async () => {
  const client = new VSLClient();
  const input = { prompt: `A lighthouse ${crypto.randomUUID()}`, width: 512, height: 512 };
  const job = await client.generateImage({ ...input, provider: 'replicate', cache: false });
  assert.equal(job.provider, 'replicate');
  await client.waitForCompletion(job, { timeout: 60_000 });
  assert.equal((await client.getStatus(job)).provider, 'replicate');
  // cache: true reuses that result (the stack's default is not to).
  const views = [];
  await client.run({ modelId: 'flux-schnell', ...input, cache: true }, { timeout: 60_000, onUpdate: (v) => views.push(v) });
  assert.equal(views.at(-1).cached, true);
  const error = await rejection(client.generateImage({ ...input, provider: 'fal' }));
  assertApiError(error, VSLClient.BadRequestError, 400, 'VALIDATION_ERROR');
  assert.match(error.message, /flux-schnell is not served by fal/);
});

integration('400: invalid parameters are a BadRequestError naming the field, sent once', async () => {
  const { client, attempts } = observedClient();
  const error = await rejection(client.generateImage({ prompt: 'x', width: 1 }));
  assertApiError(error, VSLClient.BadRequestError, 400, 'OUT_OF_RANGE');
  assert.match(error.details, /parameters\.width/);
  assert.equal(attempts.length, 1);
  const mismatch = await rejection(client.generateImage({ prompt: 'x', modelId: 'musicgen' }));
  assertApiError(mismatch, VSLClient.BadRequestError, 400, 'MEDIA_TYPE_MISMATCH');
});

integration('401: a wrong key is an AuthenticationError, not retried', async () => {
  const { client, attempts } = observedClient({ apiKey: 'vsl_not_a_real_key' });
  assertApiError(await rejection(client.models()), VSLClient.AuthenticationError, 401, 'UNAUTHORIZED');
  assert.equal(attempts.length, 1);
});

integration("403: a user-bound key submitting for another user; without userId it uses the key's user", async () => {
  const bound = new VSLClient({ apiKey: env.VSL_TEST_BOUND_KEY, userId: null });
  await faults({ latency_s: 600 }); // no media work needed here
  const error = await rejection(bound.generateImage({ prompt: 'x', userId: 'someone-else' }));
  assertApiError(error, VSLClient.PermissionDeniedError, 403, 'FORBIDDEN');
  const job = await bound.generateImage({ prompt: 'x' });
  assert.equal((await bound.getStatus(job.jobId)).userId, env.VSL_TEST_BOUND_USER);
});

integration('404: an unknown job is a NotFoundError, not retried', async () => {
  const { client, attempts } = observedClient();
  const error = await rejection(client.getStatus(crypto.randomUUID()));
  assertApiError(error, VSLClient.NotFoundError, 404, 'JOB_NOT_FOUND');
  assert.equal(attempts.length, 1);
  assertApiError(await rejection(client.waitForCompletion(crypto.randomUUID())), VSLClient.NotFoundError, 404);
});

integration('429: over the hourly limit is a RateLimitError with retryAfter in seconds, not waited', async () => {
  await faults({ latency_s: 600 });
  const { client, attempts, delays } = observedClient({
    apiKey: env.VSL_TEST_LIMITED_KEY, userId: `heavy-${crypto.randomUUID()}` });
  await client.generateImage({ prompt: 'the one allowed this hour' });
  const error = await rejection(client.generateImage({ prompt: 'one too many' }));
  assertApiError(error, VSLClient.RateLimitError, 429, 'RATE_LIMIT_EXCEEDED');
  assert.ok(error.retryAfter > 3000 && error.retryAfter <= 3601, String(error.retryAfter));
  assert.equal(error.retryAfter, error.body.retryAfter);
  assert.equal(attempts.length, 2, 'an hour-long Retry-After is handed to the caller, not slept');
  assert.deepEqual(delays, []);
});

integration('429: status polls over the per-minute limit carry the Retry-After of the window', async () => {
  await faults({ latency_s: 600 });
  const limited = new VSLClient({ apiKey: env.VSL_TEST_LIMITED_KEY, userId: `poller-${crypto.randomUUID()}`, maxRetries: 0 });
  const job = await limited.generateImage({ prompt: 'polled too often' });
  // 2 polls a minute: within 5 polls one is refused, whenever the minute turns.
  let throttled = null;
  for (let i = 0; i < 5 && !throttled; i += 1) {
    throttled = await limited.getStatus(job.jobId).then(() => null, (error) => error);
  }
  assertApiError(throttled, VSLClient.RateLimitError, 429, 'RATE_LIMIT_EXCEEDED');
  assert.ok(throttled.retryAfter >= 1 && throttled.retryAfter <= 60, String(throttled.retryAfter));
});

integration('503: Replicate throttling is an InternalServerError with its Retry-After', async () => {
  await faults({ create_errors: [429], retry_after_s: 2 });
  const client = new VSLClient({ maxRetries: 0 });
  const error = await rejection(client.generateImage({ prompt: 'x' }));
  assertApiError(error, VSLClient.InternalServerError, 503, 'SERVICE_UNAVAILABLE');
  assert.equal(error.retryAfter, 2);
  // The service now holds every start for Replicate's Retry-After: wait it out, so the
  // next tests' submits start at once again.
  await new Promise((resolve) => setTimeout(resolve, 2500));
});

integration('Retry-After is honoured while the simulator throttles: 3 attempts, one job', async () => {
  await faults({ create_errors: [429, 429], retry_after_s: 1 });
  // Newest first, 100 a page: count what came in ahead of the newest one before (a count of
  // the first page stops at 100 once the session's other tests have made that many).
  const newest = ((await simulator('GET', '/v1/predictions')).results[0] || {}).id;
  const { client, attempts, delays } = observedClient();
  const job = await client.generateImage({ prompt: 'after the throttle', width: 512, height: 512 });
  assert.deepEqual(attempts, ['POST /generate-media', 'POST /generate-media', 'POST /generate-media']);
  // The server's Retry-After (1 s), not the backoff (at most 0.5 s, then 1 s with jitter).
  assert.deepEqual(delays, [1000, 1000]);
  assert.deepEqual((await simulator('GET', '/_sim/faults')).create_errors, []);
  const after = (await simulator('GET', '/v1/predictions')).results.map((p) => p.id);
  assert.equal(newest === undefined ? after.length : after.indexOf(newest), 1);
  assert.equal((await client.getStatus(job.jobId)).jobId, job.jobId);
});

integration('a 502 on submission is retried with the same key into one job (the refusal is not kept)', async () => {
  await faults({ create_errors: [500, 500] });
  const userId = uniqueUser('after-502');
  const { client, attempts } = observedClient({ userId });
  const job = await client.generateImage({ prompt: 'x' });
  assert.equal(attempts.length, 3);
  const listed = await collect(client.listJobs({ userId }));
  // The two refused attempts made jobs that failed at once; only the third runs.
  assert.deepEqual(listed.filter((j) => j.status !== 'failed').map((j) => j.jobId), [job.jobId]);
});

integration('without idempotentRetries a 502 on submission is not retried', async () => {
  await faults({ create_errors: [500, 500] });
  const { client, attempts } = observedClient({ idempotentRetries: false });
  const error = await rejection(client.generateImage({ prompt: 'x' }));
  assertApiError(error, VSLClient.InternalServerError, 502, 'REPLICATE_ERROR');
  assert.equal(attempts.length, 1);
  assert.deepEqual((await simulator('GET', '/_sim/faults')).create_errors, [500]);
});

integration('a submission whose answer was lost after the job was made is retried into that one job', async () => {
  const userId = uniqueUser('lost-answer');
  const submits = [];
  const client = new VSLClient({
    userId,
    sleep: async () => {},
    fetch: async (url, init) => {
      const response = await fetch(url, init);
      if (init.method !== 'POST') return response;
      const body = await response.clone().json();
      submits.push({ key: new Headers(init.headers).get('idempotency-key'), status: response.status, body,
        replayed: response.headers.get('idempotent-replayed') });
      if (submits.length === 1) {
        const cause = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
        throw new TypeError('fetch failed', { cause });
      }
      return response;
    },
  });
  const job = await client.generateImage({ prompt: 'paid for once' });
  assert.equal(submits.length, 2);
  assert.equal(submits[0].key, submits[1].key);
  assert.deepEqual([submits[0].status, submits[1].status], [202, 202]);
  assert.deepEqual([submits[0].replayed, submits[1].replayed], [null, 'true']);
  assert.equal(job.jobId, submits[0].body.jobId);
  assert.deepEqual((await collect(client.listJobs({ userId }))).map((j) => j.jobId), [job.jobId]);
});

integration('a retry that meets the first submission still in flight waits for its job', async () => {
  await faults({ create_hang_s: 3, latency_s: 600 });
  const userId = uniqueUser('in-flight');
  const headers = { 'X-API-Key': env.VSL_API_KEY };
  const jobsOfUser = async () => (await (await fetch(
    `${env.VSL_BASE_URL}/jobs?userId=${userId}`, { headers })).json()).jobs;
  let first = null;
  const answers = [];
  const { client, delays } = observedClient({
    userId,
    maxRetries: 10,
    fetch: async (url, init) => {
      if (init.method === 'POST' && first === null) {
        // Sent for real; the client is told it failed once the service has made the job,
        // while Replicate still hangs on the create.
        first = fetch(url, { ...init, signal: undefined }).then((r) => r.json());
        while ((await jobsOfUser()).length === 0) await new Promise((r) => setTimeout(r, 50));
        throw new TypeError('fetch failed', { cause: Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' }) });
      }
      const response = await fetch(url, init);
      if (init.method === 'POST') answers.push([response.status, (await response.clone().json()).code || null]);
      return response;
    },
  });
  const job = await client.generateImage({ prompt: 'submitted once' });
  assert.equal(job.jobId, (await first).jobId);
  assert.ok(answers.some(([status, code]) => status === 409 && code === 'IDEMPOTENCY_KEY_IN_USE'), JSON.stringify(answers));
  assert.deepEqual(answers[answers.length - 1], [202, null]);
  assert.ok(delays.includes(1000), 'the Retry-After of the 409');
  assert.deepEqual((await collect(client.listJobs({ userId }))).map((j) => j.jobId), [job.jobId]);
  await client.cancel(job);
});

integration('cancel a running job; a finished one is a ConflictError', async () => {
  await faults({ latency_s: 60 });
  const client = new VSLClient();
  const running = await client.generateImage({ prompt: 'slow' });
  const cancelled = await client.cancelJob(running);
  assert.equal(cancelled.jobId, running.jobId);
  assert.equal(cancelled.status, 'cancelled');
  assert.equal((await client.cancel(running.jobId)).status, 'cancelled', 'a repeated cancel answers the same');
  const error = await rejection(client.waitForCompletion(running, { timeout: 30_000 }));
  assert.ok(error instanceof VSLClient.JobCancelledError, String(error));

  await faults({ latency_s: 0 });
  const quick = await client.generateImage({ prompt: 'quick' });
  await client.waitForCompletion(quick, { timeout: 60_000 });
  const conflict = await rejection(client.cancel(quick));
  assertApiError(conflict, VSLClient.ConflictError, 409, 'JOB_NOT_CANCELLABLE');
  assert.equal(conflict.body.status, 'completed');
});

integration('listJobs pages through the jobs with each filter', async () => {
  await faults({ latency_s: 60 });
  const userId = uniqueUser('lister');
  const { client, attempts } = observedClient({ userId });
  const jobs = [];
  for (let i = 0; i < 3; i += 1) jobs.push(await client.generateImage({ prompt: `fox ${i}` }));
  const sdxl = await client.generate({ modelId: 'sdxl', prompt: 'a lighthouse' });
  await client.cancel(jobs[0]);
  try {
    const ids = async (filters) => (await collect(client.listJobs({ userId, pageSize: 1, ...filters })))
      .map((j) => j.jobId).sort();
    const before = attempts.length;
    assert.deepEqual(await ids({}), [...jobs, sdxl].map((j) => j.jobId).sort());
    assert.ok(attempts.length - before >= 4, 'one page a job');
    assert.deepEqual(await ids({ modelId: 'sdxl' }), [sdxl.jobId]);
    assert.deepEqual(await ids({ status: 'cancelled' }), [jobs[0].jobId]);
    assert.deepEqual(await ids({ since: new Date(Date.now() - 3_600_000), modelId: 'flux-schnell' }),
      jobs.map((j) => j.jobId).sort());
    assert.deepEqual(await ids({ since: '2100-01-01T00:00:00Z' }), []);
    const error = await rejection(collect(client.listJobs({ pageSize: 101 })));
    assertApiError(error, VSLClient.BadRequestError, 400, 'OUT_OF_RANGE');
  } finally {
    for (const job of [...jobs.slice(1), sdxl]) await client.cancel(job);
  }
});

integration('waiting on a failed job throws JobFailedError with the job and its error', async () => {
  await faults({ fail_predictions: 1 });
  const client = new VSLClient();
  const job = await client.generateImage({ prompt: 'doomed' });
  const error = await rejection(client.waitForCompletion(job, { timeout: 60_000 }));
  assert.ok(error instanceof VSLClient.JobFailedError, String(error));
  assert.equal(error.code, 'JOB_FAILED');
  assert.equal(error.jobId, job.jobId);
  assert.equal(error.job.status, 'failed');
  assert.ok(error.job.error && error.details === error.job.error, error.details);
});

integration('waiting on a job cancelled at Replicate throws JobCancelledError', async () => {
  await faults({ latency_s: 5 });
  const client = new VSLClient();
  const job = await client.generateImage({ prompt: 'cancelled' });
  await simulator('POST', `/v1/predictions/${job.replicateId}/cancel`);
  const error = await rejection(client.waitForCompletion(job.jobId, { timeout: 60_000 }));
  assert.ok(error instanceof VSLClient.JobCancelledError, String(error));
  assert.equal(error.job.status, 'cancelled');
});

integration('a refused connection is retried, then an APIConnectionError', async () => {
  const port = await new Promise((resolve) => {
    const server = require('node:net').createServer().listen(0, '127.0.0.1', () => {
      const { port: free } = server.address();
      server.close(() => resolve(free));
    });
  });
  const { client, attempts } = observedClient({ baseUrl: `http://127.0.0.1:${port}`, sleep: async () => {} });
  const error = await rejection(client.generateImage({ prompt: 'x' }));
  assert.ok(error instanceof VSLClient.APIConnectionError, String(error));
  assert.equal(error.beforeSending, true);
  assert.equal(attempts.length, 3, 'nothing was sent, so even a POST is retried');
});

integration('the README example runs as written from the repository root', async (t) => {
  const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
  const example = readme.match(/<!-- example: run from the repository root -->\s*```javascript\n([\s\S]*?)```/);
  assert.ok(example, 'sdk/js/README.md has the marked example');
  // A copy of the repository root: the example file beside a link to the real sdk/.
  const root = tempDir(t);
  fs.symlinkSync(path.join(REPO_ROOT, 'sdk'), path.join(root, 'sdk'));
  fs.writeFileSync(path.join(root, 'example.js'), example[1]);
  const { stdout } = await new Promise((resolve, reject) => {
    execFile(process.execPath, ['example.js'], { cwd: root, env, timeout: 120_000 }, (error, out, err) => {
      if (error) reject(new Error(`example failed: ${error.message}\n${out}\n${err}`));
      else resolve({ stdout: out });
    });
  });
  assert.match(stdout, /^Image URL: http/m);
  assert.equal(mediaKind(path.join(root, 'sunset.png')), 'png');
});
