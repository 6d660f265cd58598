// Code written against the package's declarations (types/index.d.ts), and against vsl-client.d.ts
// under the same name: type-checked, never run (test/types.test.js). A declaration that is
// wrong, or looser than this expects (`any`), fails it.
import VSLClient = require('vsl-media');

export async function usage(): Promise<void> {
  // ---- constructor options ----
  const client = new VSLClient({
    apiKey: 'key', baseUrl: 'https://vsl.test', userId: null, maxRetries: 1, timeout: 5_000,
    idempotentRetries: false, fetch: globalThis.fetch, sleep: async (_ms: number, _signal?: AbortSignal) => {},
  });
  new VSLClient('key', { baseUrl: 'https://vsl.test', userId: 'user-1' });
  new VSLClient();
  // @ts-expect-error the key is given once
  new VSLClient('key', { apiKey: 'again' });
  // @ts-expect-error no such option
  new VSLClient({ apiKey: 'key', retries: 3 });
  // @ts-expect-error a timeout is milliseconds
  new VSLClient({ timeout: '5s' });
  assertType<typeof client.baseUrl, string>();
  assertType<typeof client.userId, string | undefined>();
  assertType<typeof client.maxRetries, number>();
  // @ts-expect-error settings are read-only: withOptions() makes a client with others
  client.timeout = 1_000;
  assertType<ReturnType<typeof client.withOptions>, VSLClient>();
  // @ts-expect-error internals are private
  client._api;

  // ---- submit / generate ----
  const job = await client.generateImage({ prompt: 'a sunset', width: 768, seed: 42 },
    { idempotencyKey: 'key-1', signal: AbortSignal.timeout(1_000), maxRetries: 0 });
  assertType<typeof job, VSLClient.Job>();
  assertType<typeof job.jobId, string>();
  assertType<typeof job.status, VSLClient.JobStatus>();
  assertType<typeof job.estimatedTime, number>();
  // @ts-expect-error an image job needs a prompt
  client.generateImage({ width: 768 });
  // @ts-expect-error a width is a number
  client.generateImage({ prompt: 'a sunset', width: '768' });
  assertType<Awaited<ReturnType<typeof client.generateVideo>>, VSLClient.Job>();
  await client.generateVideo({ image: new Uint8Array(8), fps: 24 });
  await client.generateVideo({ imageUrl: 'https://example.test/a.png' });
  await client.generateAudio({ prompt: 'jazz', output_format: 'mp3', userId: 'user-2' });
  // @ts-expect-error wav or mp3
  client.generateAudio({ prompt: 'jazz', output_format: 'ogg' });
  await client.generate({ modelId: 'sdxl', mediaType: 'image', prompt: 'a sunset' });
  await client.generateImage({ prompt: 'a sunset', provider: 'fal', cache: false, webhookUrl: 'https://hooks.test/vsl' });
  await client.run({ modelId: 'musicgen', prompt: 'jazz', provider: 'replicate' });
  // @ts-expect-error replicate or fal
  client.generateVideo({ imageUrl: 'https://example.test/a.png', provider: 'openai' });
  // @ts-expect-error cache is a boolean
  client.generate({ modelId: 'sdxl', prompt: 'a sunset', cache: 'no' });
  // @ts-expect-error a model is named
  client.generate({ prompt: 'a sunset' });
  // @ts-expect-error image, video or audio
  client.generate({ modelId: 'sdxl', mediaType: 'text' });
  const upload = await client.upload(Buffer.from('...'), { contentType: 'image/png', idempotencyKey: 'u' });
  assertType<typeof upload, VSLClient.Upload>();
  assertType<typeof upload.ref, string>();
  // @ts-expect-error a local file, not a path
  client.upload('/tmp/a.png');

  // ---- status and wait ----
  const view = await client.getStatus(job);
  await client.getStatus(job.jobId, { timeout: 1_000 });
  // @ts-expect-error a job or its id
  client.getStatus(42);
  assertType<typeof view, VSLClient.JobStatusView>();
  assertType<typeof view.status, 'pending' | 'processing' | 'completed' | 'failed' | 'cancelled'>();
  assertType<typeof view.progress, number | null>();
  assertType<typeof view.stage, 'queued' | 'starting' | 'generating' | 'storing' | undefined>();
  assertType<typeof view.result, VSLClient.JobResult | undefined>();
  const result = await client.waitForCompletion(job, {
    timeout: 60_000, signal: new AbortController().signal,
    onUpdate: (update) => assertType<typeof update, VSLClient.JobStatusView>(),
  });
  assertType<typeof result, VSLClient.JobResult>();
  assertType<typeof result.originalUrl, string>();
  assertType<typeof result.thumbnailUrl, string | null>();
  assertType<typeof result.outputs, VSLClient.MediaOutput[] | undefined>();
  const ran = await client.run({ modelId: 'flux-schnell', prompt: 'a sunset' }, { timeout: 1_000, idempotencyKey: 'key-2' });
  assertType<typeof ran, VSLClient.JobResult>();
  assertType<Awaited<ReturnType<typeof client.cancelJob>>, VSLClient.JobStatusView>();
  assertType<Awaited<ReturnType<typeof client.cancel>>, VSLClient.JobStatusView>();
  assertType<Awaited<ReturnType<typeof client.models>>, VSLClient.Model[]>();
  assertType<Awaited<ReturnType<typeof client.download>>, string>();
  await client.download(result, '/tmp/out.png', { timeout: 1_000 });
  await client.download(result.originalUrl, '/tmp/out.png');

  // ---- list and pages ----
  for await (const listed of client.listJobs({ status: 'failed', since: new Date(), pageSize: 50 })) {
    assertType<typeof listed, VSLClient.JobStatusView>();
  }
  // @ts-expect-error not a job status
  client.listJobs({ status: 'done' });
  const page = await client.listJobsPage({ cursor: 'cursor', modelId: 'sdxl' });
  assertType<typeof page, VSLClient.JobPage>();
  assertType<typeof page.data, VSLClient.JobStatusView[]>();
  assertType<typeof page.nextCursor, string | null>();
  assertType<ReturnType<typeof page.hasNextPage>, boolean>();
  assertType<Awaited<ReturnType<typeof page.nextPage>>, VSLClient.JobPage>();
  for await (const each of page.iterPages()) assertType<typeof each, VSLClient.JobPage>();
  for await (const listed of page) assertType<typeof listed, VSLClient.JobStatusView>();
}

// ---- errors ----
export function handle(error: unknown): void {
  if (error instanceof VSLClient.RateLimitError) {
    assertType<typeof error.status, number>();
    assertType<typeof error.retryAfter, number | null>();
    assertType<typeof error.code, string | null>();
    assertType<typeof error.body, VSLClient.ErrorBody | string | null>();
  } else if (error instanceof VSLClient.JobFailedError || error instanceof VSLClient.JobCancelledError) {
    assertType<typeof error.job, VSLClient.JobStatusView>();
    assertType<typeof error.jobId, string>();
  } else if (error instanceof VSLClient.WaitTimeoutError) {
    assertType<typeof error.timeout, number>();
    assertType<typeof error.job, VSLClient.JobStatusView>();
  } else if (error instanceof VSLClient.APIConnectionError) {
    assertType<typeof error.beforeSending, boolean>();
    assertType<typeof error.status, number | null>();
  } else if (error instanceof VSLClient.APIStatusError) {
    assertType<typeof error.status, number>();
  }
  const base: VSLClient.VSLError = new VSLClient.ConflictError('409 Conflict', { status: 409, code: 'JOB_NOT_CANCELLABLE' });
  const chain: VSLClient.APIError[] = [new VSLClient.NotFoundError('404', { status: 404 }),
    new VSLClient.APITimeoutError('timed out')];
  console.log(base, chain);
}

// ---- webhooks ----
export function webhook(body: string, headers: Record<string, string | string[] | undefined>): unknown {
  const event = VSLClient.verifyWebhook(body, headers, 'whsec_c2VjcmV0', { tolerance: 60, now: Date.now() });
  assertType<typeof event, unknown>();
  VSLClient.verifyWebhook(Buffer.from(body), new Headers(), 'whsec_c2VjcmV0');
  // @ts-expect-error the raw body, not parsed JSON
  VSLClient.verifyWebhook({}, headers, 'whsec_c2VjcmV0');
  const refused: VSLClient.VSLError = new VSLClient.WebhookVerificationError('No matching signature found');
  assertType<typeof VSLClient.VERSION, string>();
  assertType<typeof VSLClient.default, typeof VSLClient>();
  assertType<typeof VSLClient.VSLClient, typeof VSLClient>();
  return [event, refused];
}
