// Types for the VSL Media JavaScript client (CommonJS entry: `require('./sdk/js')`).

declare namespace VSLClient {
  type MediaType = 'image' | 'video' | 'audio';
  type JobStatus = 'pending' | 'processing' | 'completed' | 'failed' | 'cancelled';

  interface ClientOptions {
    /** API key sent as X-API-Key. Default: process.env.VSL_API_KEY. */
    apiKey?: string;
    /** e.g. https://{id}.execute-api.us-east-1.amazonaws.com/homolog. Default: process.env.VSL_BASE_URL. */
    baseUrl?: string;
    /** userId of every job unless a call gives one. Default: process.env.VSL_USER_ID; null sends none (a key bound to a user). */
    userId?: string | null;
    /** Retries after the first attempt. Default 2. */
    maxRetries?: number;
    /** Per-attempt timeout in milliseconds. Default 60000. */
    timeout?: number;
    /** Retry POSTs like GETs, relying on the Idempotency-Key sent with each call (the service replays
     * the first attempt's answer). Default true; false retries a POST only when nothing was created. */
    idempotentRetries?: boolean;
    /** A fetch implementation. Default: the global fetch (Node 18+). */
    fetch?: typeof globalThis.fetch;
    /** Waits between attempts and polls; replace it in tests to record delays instead of waiting. */
    sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  }

  interface RequestOptions {
    signal?: AbortSignal;
    /** Per-attempt timeout in milliseconds for this call. */
    timeout?: number;
    /** Retries after the first attempt for this call. */
    maxRetries?: number;
  }

  interface PostOptions extends RequestOptions {
    /** The Idempotency-Key of this POST, sent on every attempt: the service answers a repeat
     * with the first answer (a key sent again with another body is a 422). Default: one per call. */
    idempotencyKey?: string;
  }

  interface ClientOverrides {
    /** Per-attempt timeout in milliseconds. */
    timeout?: number;
    /** Retries after the first attempt. */
    maxRetries?: number;
  }

  interface WaitOptions {
    /** Give up after this many milliseconds with WaitTimeoutError. Default 300000. */
    timeout?: number;
    /** Called with the status view each time its status, stage or progress changes (the first one too). */
    onUpdate?: (job: JobStatusView) => void | Promise<void>;
    signal?: AbortSignal;
  }

  interface RunOptions extends WaitOptions {
    /** The submission's Idempotency-Key (see PostOptions). */
    idempotencyKey?: string;
  }

  interface UploadOptions extends PostOptions {
    /** Default: the type the file's first bytes say (PNG, JPEG, WebP), else a Blob's own type. */
    contentType?: string;
  }

  /** A local file: uploaded (POST /uploads, then a PUT to its presigned link) before it is used. */
  type FileInput = Blob | ArrayBuffer | ArrayBufferView;

  /** An input image: a local file, or an http(s) URL, `upload:<uploadId>` or a data: URI. */
  type ImageInput = string | FileInput;

  /** POST /uploads, once the file is in: `ref` is what an image parameter takes. */
  interface Upload {
    uploadId: string;
    /** The presigned PUT the file went to. */
    uploadUrl: string;
    /** When the upload is deleted (a day after it was made). */
    expiresAt: string;
    /** `upload:<uploadId>` */
    ref: string;
  }

  interface DownloadOptions {
    signal?: AbortSignal;
    /** Milliseconds until the answer's headers (the body streams without a limit). */
    timeout?: number;
    maxRetries?: number;
  }

  /** Model parameters: the documented ones for each model, or any other the API accepts. */
  type Parameters = Record<string, unknown>;

  interface JobInputBase {
    /** Defaults to the client's userId. */
    userId?: string;
    [parameter: string]: unknown;
  }

  interface ImageJobInput extends JobInputBase {
    prompt: string;
    /** Default 'flux-schnell'. */
    modelId?: string;
    width?: number;
    height?: number;
    num_outputs?: number;
    negative_prompt?: string;
    num_inference_steps?: number;
    guidance_scale?: number;
  }

  interface VideoJobInput extends JobInputBase {
    /** The input image: a local file (uploaded first) or a URL string. Give this or imageUrl. */
    image?: ImageInput;
    /** The input image's URL, sent as the model's `image` parameter. */
    imageUrl?: string;
    /** Default 'stability-video'. */
    modelId?: string;
    motion_bucket_id?: number;
    fps?: number;
    num_frames?: number;
  }

  interface AudioJobInput extends JobInputBase {
    prompt: string;
    /** Default 'musicgen'. */
    modelId?: string;
    duration?: number;
    temperature?: number;
    top_k?: number;
    top_p?: number;
    output_format?: 'wav' | 'mp3';
  }

  interface GenerateInput extends JobInputBase {
    modelId: string;
    /** Looked up in models() (cached) when omitted. */
    mediaType?: MediaType;
  }

  /** The 202 answer to a submission. */
  interface Job {
    jobId: string;
    status: 'pending';
    estimatedTime: number;
    estimatedCost: number;
    replicateId: string | null;
    /** The provider running the job: 'replicate' or 'fal' (null for a reused result). */
    provider?: 'replicate' | 'fal' | null;
    message: string;
    [field: string]: unknown;
  }

  interface MediaOutput {
    url: string;
    fileSize?: number;
    contentType?: string;
    width?: number;
    height?: number;
    duration?: number;
    fps?: number;
    [field: string]: unknown;
  }

  /** A completed job's media; the URLs are presigned (a plain GET downloads them). */
  interface JobResult {
    originalUrl: string;
    thumbnailUrl: string | null;
    s3Path: string;
    fileSize?: number;
    contentType?: string;
    width?: number;
    height?: number;
    duration?: number;
    fps?: number;
    /** Every output when the job produced several. */
    outputs?: MediaOutput[];
    [field: string]: unknown;
  }

  type Stage = 'queued' | 'starting' | 'generating' | 'storing';

  interface JobStatusView {
    jobId: string;
    status: JobStatus;
    mediaType: MediaType;
    modelId: string;
    userId: string;
    createdAt: string;
    replicateId: string | null;
    /** The provider the job runs (or ran) on: 'replicate' or 'fal' (null for a reused result). */
    provider?: 'replicate' | 'fal' | null;
    /** How far the job is, 0 to 1 (1 once completed), never decreasing; null while unknown. */
    progress: number | null;
    /** While the job runs; absent once it has ended. */
    stage?: Stage;
    completedAt?: string;
    processingTime?: number;
    result?: JobResult;
    error?: string;
    [field: string]: unknown;
  }

  interface Model {
    modelId: string;
    mediaType: MediaType;
    description: string;
    pricing: unknown;
    estimatedTime: number;
    /** JSON Schema of the model's parameters. */
    parameters: Record<string, unknown>;
    [field: string]: unknown;
  }

  interface ListJobsFilters {
    userId?: string;
    status?: JobStatus;
    modelId?: string;
    /** Jobs created at or after this time (an ISO 8601 string with a zone, or a Date). */
    since?: string | Date;
    /** Jobs fetched per request, 1-100. Default: the service's (20). */
    pageSize?: number;
  }

  interface ListJobsPageFilters extends ListJobsFilters {
    /** A page's nextCursor: resume there (with the filters it was issued for). */
    cursor?: string;
  }

  /** One page of GET /jobs; `for await (const job of page)` goes on through the later pages. */
  class JobPage implements AsyncIterable<JobStatusView> {
    readonly data: JobStatusView[];
    /** null on the last page. */
    readonly nextCursor: string | null;
    hasNextPage(): boolean;
    /** Rejects with a VSLError (code NO_NEXT_PAGE) on the last page. */
    nextPage(): Promise<JobPage>;
    iterPages(): AsyncGenerator<JobPage, void, undefined>;
    [Symbol.asyncIterator](): AsyncGenerator<JobStatusView, void, undefined>;
  }

  interface WebhookVerifyOptions {
    /** Accepted distance between the webhook-timestamp and now, in seconds. Default 300. */
    tolerance?: number;
    /** Now, in milliseconds since the epoch. Default Date.now(). */
    now?: number;
  }

  interface ErrorBody {
    error: string;
    details: string;
    code: string;
    retryAfter?: number;
    [field: string]: unknown;
  }

  /** Base of every error the client throws. */
  class VSLError extends Error {
    /** HTTP status, or null when there was no HTTP answer (connection, job and wait errors). */
    status: number | null;
    /** The API's code (e.g. RATE_LIMIT_EXCEEDED), HTTP_<status> for other bodies, or the client's own (TIMEOUT, JOB_FAILED, ...). */
    code: string | null;
    details: string | null;
    /** Seconds the server asked to wait before retrying, or null. */
    retryAfter: number | null;
    /** The parsed error body, or its text when it was not JSON. */
    body: ErrorBody | string | null;
    headers: Record<string, string> | null;
  }
  /** A request did not get a successful answer. */
  class APIError extends VSLError {}
  /** The service answered with an error status (405, 413, 415... when no subclass names it). */
  class APIStatusError extends APIError {
    status: number;
  }
  class BadRequestError extends APIStatusError {}
  class AuthenticationError extends APIStatusError {}
  class PermissionDeniedError extends APIStatusError {}
  class NotFoundError extends APIStatusError {}
  class ConflictError extends APIStatusError {}
  class UnprocessableEntityError extends APIStatusError {}
  class RateLimitError extends APIStatusError {}
  class InternalServerError extends APIStatusError {}
  class APIConnectionError extends APIError {
    /** True when the connection failed before anything was sent. */
    beforeSending: boolean;
  }
  class APITimeoutError extends APIConnectionError {}
  /** A job ended without a result: `job` is its last status view, `details` its error. */
  class JobError extends VSLError {
    jobId: string;
    job: JobStatusView;
  }
  class JobFailedError extends JobError {}
  class JobCancelledError extends JobError {}
  class WaitTimeoutError extends VSLError {
    jobId: string;
    /** The last status seen. */
    job: JobStatusView;
    /** The wait's timeout in milliseconds. */
    timeout: number;
  }

  /** A client webhook that fails Standard Webhooks verification (code INVALID_WEBHOOK). */
  class WebhookVerificationError extends VSLError {}

  /**
   * Verify a client webhook signed per Standard Webhooks and return its parsed JSON body.
   * `payload` is the raw body as received; `headers` a Headers object or Node's req.headers;
   * `secret` the "whsec_..." signing secret. Throws WebhookVerificationError.
   */
  function verifyWebhook(payload: string | Uint8Array,
    headers: Headers | Record<string, string | string[] | undefined>, secret: string,
    options?: WebhookVerifyOptions): unknown;

  const VERSION: string;
}

declare class VSLClient {
  /** Options, or the API key alone (`new VSLClient(key)`), or both (`new VSLClient(key, { baseUrl })`). */
  constructor(options?: VSLClient.ClientOptions);
  constructor(apiKey: string, options?: Omit<VSLClient.ClientOptions, 'apiKey'>);
  readonly apiKey: string;
  readonly baseUrl: string;
  readonly userId: string | undefined;
  readonly maxRetries: number;
  readonly timeout: number;
  readonly idempotentRetries: boolean;

  generateImage(input: VSLClient.ImageJobInput, options?: VSLClient.PostOptions): Promise<VSLClient.Job>;
  generateVideo(input: VSLClient.VideoJobInput, options?: VSLClient.PostOptions): Promise<VSLClient.Job>;
  generateAudio(input: VSLClient.AudioJobInput, options?: VSLClient.PostOptions): Promise<VSLClient.Job>;
  generate(input: VSLClient.GenerateInput, options?: VSLClient.PostOptions): Promise<VSLClient.Job>;
  /**
   * Submit and resolve to the result: the service waits for the job first (Prefer: wait, up to
   * 25 s), then the client polls. Rejects with JobFailedError, JobCancelledError or WaitTimeoutError.
   */
  run(input: VSLClient.GenerateInput, options?: VSLClient.RunOptions): Promise<VSLClient.JobResult>;
  /** Upload a local image (PNG, JPEG or WebP, at most 10 MiB, kept a day); pass `ref` as a parameter. */
  upload(file: VSLClient.FileInput, options?: VSLClient.UploadOptions): Promise<VSLClient.Upload>;
  getStatus(job: string | { jobId: string }, options?: VSLClient.RequestOptions): Promise<VSLClient.JobStatusView>;
  /** Resolves to the job's result; rejects with JobFailedError, JobCancelledError or WaitTimeoutError. */
  waitForCompletion(job: string | { jobId: string; estimatedTime?: number },
    options?: VSLClient.WaitOptions): Promise<VSLClient.JobResult>;
  /** POST /jobs/{jobId}/cancel: resolves to the job's status view, now cancelled; ConflictError (JOB_NOT_CANCELLABLE) when it already completed or failed. */
  cancelJob(job: string | { jobId: string }, options?: VSLClient.PostOptions): Promise<VSLClient.JobStatusView>;
  /** The same as cancelJob (the Python client's name). */
  cancel(job: string | { jobId: string }, options?: VSLClient.PostOptions): Promise<VSLClient.JobStatusView>;
  /** GET /jobs, newest first, page after page as iterated: `for await (const job of client.listJobs())`. */
  listJobs(filters?: VSLClient.ListJobsFilters, options?: VSLClient.RequestOptions): AsyncGenerator<VSLClient.JobStatusView, void, undefined>;
  /** One page (the first, or `cursor`'s): data, nextCursor, hasNextPage(), nextPage(). */
  listJobsPage(filters?: VSLClient.ListJobsPageFilters, options?: VSLClient.RequestOptions): Promise<VSLClient.JobPage>;
  /** A client with another timeout or maxRetries, sharing this one's settings. */
  withOptions(options: VSLClient.ClientOverrides): VSLClient;
  models(options?: VSLClient.RequestOptions): Promise<VSLClient.Model[]>;
  /** Streams the result's originalUrl (or a URL) to `path`; resolves to `path`. */
  download(result: VSLClient.JobResult | string, path: string, options?: VSLClient.DownloadOptions): Promise<string>;
}

export = VSLClient;
