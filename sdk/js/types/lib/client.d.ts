// GENERATED from the JSDoc in lib/client.js by sdk/js/scripts/build-types.js
// (npm run build:types): edit that and build again, never this file.
export = VSLClient;
/**
 * Client for the VSL Media API. Zero dependencies: Node 18+ global fetch.
 *
 *   const client = new VSLClient({ apiKey, baseUrl, userId });   // or new VSLClient(apiKey, { baseUrl })
 *   const job = await client.generateImage({ prompt: 'A beautiful sunset' });
 *   const result = await client.waitForCompletion(job.jobId);
 */
declare class VSLClient {
    /**
     * Options, or the API key alone (`new VSLClient(key)`), or both (`new VSLClient(key, { baseUrl })`).
     * @overload
     * @param {ClientOptions} [options]
     */
    constructor(options?: ClientOptions | undefined);
    /**
     * @overload
     * @param {string} apiKey
     * @param {Omit<ClientOptions, 'apiKey'>} [options]
     */
    constructor(apiKey: string, options?: Omit<ClientOptions, "apiKey"> | undefined);
    /** @readonly */
    readonly apiKey: string;
    /** @readonly */
    readonly baseUrl: string;
    /** @readonly */
    readonly userId: string | undefined;
    /** @readonly */
    readonly maxRetries: number;
    /** @readonly */
    readonly timeout: number;
    /** @readonly */
    readonly idempotentRetries: boolean;
    /** @private */
    private _fetch;
    /** @private */
    private _sleep;
    /**
     * The catalog, shared by concurrent callers.
     * @private
     * @type {Promise<Model[]> | null}
     */
    private _models;
    /**
     * A client like this one with another per-attempt `timeout` (ms) or `maxRetries`, sharing its
     * settings and catalog cache: `client.withOptions({ timeout: 5000, maxRetries: 0 }).getStatus(id)`.
     * @param {ClientOverrides} [options]
     * @returns {VSLClient}
     */
    withOptions(options?: ClientOverrides): VSLClient;
    /**
     * Submit an image job: `prompt` plus the model's parameters (width, height, ...).
     * @param {ImageJobInput} input
     * @param {PostOptions} [options]
     * @returns {Promise<Job>}
     */
    generateImage(input: ImageJobInput, options?: PostOptions): Promise<Job>;
    /**
     * Submit a video job animating `image`: a local file (Buffer, Uint8Array, ArrayBuffer or Blob,
     * uploaded first) or a string (an http(s) URL, `upload:<id>` or a data: URI). `imageUrl` is the
     * same as a string `image`.
     * @param {VideoJobInput} input
     * @param {PostOptions} [options]
     * @returns {Promise<Job>}
     */
    generateVideo(input: VideoJobInput, options?: PostOptions): Promise<Job>;
    /**
     * Submit an audio job: `prompt` plus the model's parameters (duration, ...).
     * @param {AudioJobInput} input
     * @param {PostOptions} [options]
     * @returns {Promise<Job>}
     */
    generateAudio(input: AudioJobInput, options?: PostOptions): Promise<Job>;
    /**
     * Submit a job for any model; its mediaType comes from models() (cached) when omitted. A local
     * file among the parameters (Buffer, Uint8Array, ArrayBuffer, Blob) is uploaded first.
     * `userId`, `provider` (the one provider to run on, with no failover), `cache` (reuse an
     * identical job's result, or not) and `webhookUrl` (where this job's events are also posted)
     * go in the submit beside the parameters, each only when given; the generate* helpers and run
     * take them too.
     * @param {GenerateInput} input
     * @param {PostOptions} [options]
     * @returns {Promise<Job>}
     */
    generate(input: GenerateInput, options?: PostOptions): Promise<Job>;
    /**
     * Submit a job and resolve to its result: the service holds the submit until the job ends (up
     * to 25 s, `Prefer: wait`), then the client polls as waitForCompletion does. Rejects with
     * JobFailedError, JobCancelledError, or WaitTimeoutError after `timeout` ms in all. The input
     * is generate()'s.
     * @param {GenerateInput} input
     * @param {RunOptions} [options]
     * @returns {Promise<JobResult>}
     */
    run(input: GenerateInput, options?: RunOptions): Promise<JobResult>;
    /**
     * Upload a local file (Buffer, Uint8Array, ArrayBuffer or Blob) for use as an input image;
     * resolves to `{ uploadId, uploadUrl, expiresAt, ref }`, where `ref` (`upload:<id>`) is what an
     * image parameter takes. PNG, JPEG or WebP of at most 10 MiB, kept for a day. The type is read
     * from the file's first bytes unless `contentType` is given.
     * @param {FileInput} file
     * @param {UploadOptions} [options]
     * @returns {Promise<Upload>}
     */
    upload(file: FileInput, options?: UploadOptions): Promise<Upload>;
    /**
     * The job's status view: status, and `result` once completed or `error` once failed.
     * @param {string | { jobId: string }} job a jobId, or a job (the 202 answer or a status view)
     * @param {RequestOptions} [options]
     * @returns {Promise<JobStatusView>}
     */
    getStatus(job: string | {
        jobId: string;
    }, options?: RequestOptions): Promise<JobStatusView>;
    /**
     * Poll until the job ends; returns its `result`. Throws JobFailedError, JobCancelledError,
     * or WaitTimeoutError after `timeout` ms. Polls start at a tenth of the job's estimated time
     * (at least 0.5 s) and grow; a 429 on a poll is waited out as its Retry-After asks. `onUpdate`
     * gets the status view whenever its status, stage or progress changed.
     * @param {string | { jobId: string, estimatedTime?: number }} job a jobId, or the 202 answer
     *   (whose estimatedTime paces the first polls)
     * @param {WaitOptions} [options]
     * @returns {Promise<JobResult>}
     */
    waitForCompletion(job: string | {
        jobId: string;
        estimatedTime?: number;
    }, options?: WaitOptions): Promise<JobResult>;
    /**
     * Cancel a pending or processing job; resolves to its status view (now cancelled). Cancelling
     * a cancelled job answers the same; one that completed or failed rejects with a ConflictError
     * of code JOB_NOT_CANCELLABLE (its `body.status` says which).
     * @param {string | { jobId: string }} job
     * @param {PostOptions} [options]
     * @returns {Promise<JobStatusView>}
     */
    cancelJob(job: string | {
        jobId: string;
    }, options?: PostOptions): Promise<JobStatusView>;
    /**
     * The same as cancelJob, by the Python client's name.
     * @param {string | { jobId: string }} job
     * @param {PostOptions} [options]
     * @returns {Promise<JobStatusView>}
     */
    cancel(job: string | {
        jobId: string;
    }, options?: PostOptions): Promise<JobStatusView>;
    /**
     * The key's jobs, newest first, as status views: `for await (const job of client.listJobs())`.
     * Pages are fetched as the loop goes (`pageSize` jobs a request, 1-100; the service's default
     * is 20). Filters: userId, status, modelId, since (a Date or an ISO 8601 string with a zone).
     * @param {ListJobsFilters} [filters]
     * @param {RequestOptions} [options]
     * @returns {AsyncGenerator<JobStatusView, void, undefined>}
     */
    listJobs(filters?: ListJobsFilters, options?: RequestOptions): AsyncGenerator<JobStatusView, void, undefined>;
    /**
     * One page of listJobs (the first, or the one `cursor` points at, with the filters it was
     * issued for): resolves to a JobPage with `data`, `nextCursor`, `hasNextPage()`, `nextPage()`;
     * `for await (const job of page)` goes on through the later pages.
     * @param {ListJobsPageFilters} [filters]
     * @param {RequestOptions} [options]
     * @returns {Promise<JobPage>}
     */
    listJobsPage(filters?: ListJobsPageFilters, options?: RequestOptions): Promise<JobPage>;
    /**
     * The model catalog: modelId, mediaType, description, pricing, estimatedTime, parameters.
     * @param {RequestOptions} [options]
     * @returns {Promise<Model[]>}
     */
    models(options?: RequestOptions): Promise<Model[]>;
    /**
     * Stream a result's media (its `originalUrl`, or a URL string) to a file at `path`.
     * Written to `path + '.part'` first, so a failed download leaves no truncated file.
     * Resolves to `path`.
     * @param {JobResult | string} result
     * @param {string} path
     * @param {DownloadOptions} [options]
     * @returns {Promise<string>}
     */
    download(result: JobResult | string, path: string, options?: DownloadOptions): Promise<string>;
    /**
     * @private
     * @param {ListJobsFilters} filters
     */
    private _listQuery;
    /**
     * @private
     * @param {URLSearchParams} query
     * @param {string | null} cursor
     * @param {RequestOptions | undefined} options
     * @returns {Promise<JobPage>}
     */
    private _page;
    /**
     * @private
     * @param {URLSearchParams} query
     * @param {RequestOptions | undefined} options
     * @returns {AsyncGenerator<JobStatusView, void, undefined>}
     */
    private _jobs;
    /**
     * @private
     * @param {string | { jobId: string }} job
     * @returns {string}
     */
    private _jobIdOf;
    /**
     * @private
     * @param {{ mediaType: MediaType, modelId: string, fields: SubmitFields, parameters: Parameters }} job
     * @param {PostOptions & { retryRateLimits?: boolean, headers?: Record<string, string>, withStatus?: boolean }} [options]
     */
    private _submit;
    /**
     * The parameters, each local file among them uploaded and named by its `upload:<id>`.
     * @private
     * @param {Parameters} parameters
     * @param {RequestOptions} [options]
     * @returns {Promise<Parameters>}
     */
    private _inputs;
    /**
     * @private
     * @param {RequestOptions} [options]
     * @returns {Promise<Model[]>}
     */
    private _catalog;
    /**
     * @private
     * @param {string} modelId
     * @param {RequestOptions} [options]
     * @returns {Promise<MediaType>}
     */
    private _mediaTypeOf;
    /**
     * @private
     * @param {string} modelId
     * @returns {Promise<number>}
     */
    private _cachedEstimate;
    /**
     * One logical API call: JSON in and out, with the retry rules. `withStatus` resolves to
     * `{ status, body }` instead of the body alone.
     * @private
     * @param {string} method
     * @param {string} path
     * @param {unknown} body
     * @param {PostOptions & { retryRateLimits?: boolean, headers?: Record<string, string>, withStatus?: boolean }} [options]
     * @returns {Promise<any>} the parsed JSON answer
     */
    private _api;
    /**
     * Attempts until success, a non-retryable error, or maxRetries retries.
     * @private
     * @template T
     * @param {string} url
     * @param {RequestInit & { method: string }} init
     * @param {{ signal?: AbortSignal, timeout?: number, maxRetries?: number, repeatable: boolean,
     *   retryRateLimits?: boolean, bodyWithinTimeout?: boolean, read: (response: Response, failed: (cause: unknown) => unknown) => Promise<T> }} options
     * @returns {Promise<T>}
     */
    private _withRetries;
    /**
     * One HTTP exchange: what `read(response, failed)` returns when 2xx, else a VSLError.
     * `read` turns its network failures into errors with `failed(cause)`.
     * @private
     * @template T
     * @param {string} url
     * @param {RequestInit & { method: string }} init
     * @param {{ signal?: AbortSignal, timeout?: number, bodyWithinTimeout: boolean,
     *   read: (response: Response, failed: (cause: unknown) => unknown) => Promise<T> }} options
     * @returns {Promise<T>}
     */
    private _attempt;
}
declare namespace VSLClient {
    export { VERSION, VSLError, APIError, APIStatusError, BadRequestError, AuthenticationError, PermissionDeniedError, NotFoundError, ConflictError, UnprocessableEntityError, RateLimitError, InternalServerError, APIConnectionError, APITimeoutError, JobError, JobFailedError, JobCancelledError, WaitTimeoutError, WebhookVerificationError, verifyWebhook, JobPage, VSLClient, VSLClient as default, MediaType, JobStatus, Stage, Provider, ClientOptions, RequestOptions, IdempotencyOption, PostOptions, ClientOverrides, WaitOptions, RunOptions, ContentTypeOption, UploadOptions, DownloadOptions, FileInput, ImageInput, Upload, Parameters, SubmitFields, JobInputBase, ImageJobFields, ImageJobInput, VideoJobFields, VideoJobInput, AudioJobFields, AudioJobInput, GenerateFields, GenerateInput, Job, MediaOutput, JobResult, JobStatusView, Model, ListJobsFilters, CursorOption, ListJobsPageFilters, ErrorBody, WebhookHeaders, WebhookVerifyOptions };
}
import { JobPage } from "./pagination";
declare const VERSION: string;
import { VSLError } from "./errors";
import { APIError } from "./errors";
import { APIStatusError } from "./errors";
import { BadRequestError } from "./errors";
import { AuthenticationError } from "./errors";
import { PermissionDeniedError } from "./errors";
import { NotFoundError } from "./errors";
import { ConflictError } from "./errors";
import { UnprocessableEntityError } from "./errors";
import { RateLimitError } from "./errors";
import { InternalServerError } from "./errors";
import { APIConnectionError } from "./errors";
import { APITimeoutError } from "./errors";
import { JobError } from "./errors";
import { JobFailedError } from "./errors";
import { JobCancelledError } from "./errors";
import { WaitTimeoutError } from "./errors";
import { WebhookVerificationError } from "./webhooks";
import { verifyWebhook } from "./webhooks";
type MediaType = "image" | "video" | "audio";
type JobStatus = "pending" | "processing" | "completed" | "failed" | "cancelled";
type Stage = "queued" | "starting" | "generating" | "storing";
type Provider = "replicate" | "fal";
type ClientOptions = {
    /**
     * API key sent as X-API-Key. Default: process.env.VSL_API_KEY.
     */
    apiKey?: string | undefined;
    /**
     * e.g. https://{id}.execute-api.us-east-1.amazonaws.com/homolog.
     * Default: process.env.VSL_BASE_URL.
     */
    baseUrl?: string | undefined;
    /**
     * userId of every job unless a call gives one. Default:
     * process.env.VSL_USER_ID; null sends none (a key bound to a user).
     */
    userId?: string | null | undefined;
    /**
     * Retries after the first attempt. Default 2.
     */
    maxRetries?: number | undefined;
    /**
     * Per-attempt timeout in milliseconds. Default 60000.
     */
    timeout?: number | undefined;
    /**
     * Retry POSTs like GETs, relying on the Idempotency-Key
     * sent with each call (the service replays the first attempt's answer). Default true; false
     * retries a POST only when nothing was created.
     */
    idempotentRetries?: boolean | undefined;
    /**
     * A fetch implementation. Default: the global fetch
     * (Node 18+).
     */
    fetch?: typeof fetch | undefined;
    /**
     * Waits between attempts
     * and polls; replace it in tests to record delays instead of waiting.
     */
    sleep?: ((ms: number, signal?: AbortSignal) => Promise<void>) | undefined;
};
type RequestOptions = {
    signal?: AbortSignal | undefined;
    /**
     * Per-attempt timeout in milliseconds for this call.
     */
    timeout?: number | undefined;
    /**
     * Retries after the first attempt for this call.
     */
    maxRetries?: number | undefined;
};
type IdempotencyOption = {
    /**
     * The Idempotency-Key of this POST, sent on every attempt:
     * the service answers a repeat with the first answer (a key sent again with another body is a
     * 422). Default: one per call.
     */
    idempotencyKey?: string | undefined;
};
type PostOptions = RequestOptions & IdempotencyOption;
type ClientOverrides = {
    /**
     * Per-attempt timeout in milliseconds.
     */
    timeout?: number | undefined;
    /**
     * Retries after the first attempt.
     */
    maxRetries?: number | undefined;
};
type WaitOptions = {
    /**
     * Give up after this many milliseconds with WaitTimeoutError.
     * Default 300000.
     */
    timeout?: number | undefined;
    /**
     * Called with the status view
     * each time its status, stage or progress changes (the first one too).
     */
    onUpdate?: ((job: JobStatusView) => void | Promise<void>) | undefined;
    signal?: AbortSignal | undefined;
};
type RunOptions = WaitOptions & IdempotencyOption;
type ContentTypeOption = {
    /**
     * Default: the type the file's first bytes say (PNG, JPEG,
     * WebP), else a Blob's own type.
     */
    contentType?: string | undefined;
};
type UploadOptions = PostOptions & ContentTypeOption;
type DownloadOptions = {
    signal?: AbortSignal | undefined;
    /**
     * Milliseconds until the answer's headers (the body streams without
     * a limit).
     */
    timeout?: number | undefined;
    maxRetries?: number | undefined;
};
/**
 * A local file: uploaded (POST /uploads, then a PUT to its presigned link) before it is used.
 */
type FileInput = Blob | ArrayBuffer | ArrayBufferView;
/**
 * An input image: a local file, or an http(s) URL, `upload:<uploadId>` or a data: URI.
 */
type ImageInput = string | FileInput;
/**
 * POST /uploads, once the file is in: `ref` is what an image parameter takes.
 */
type Upload = {
    uploadId: string;
    /**
     * The presigned PUT the file went to.
     */
    uploadUrl: string;
    /**
     * When the upload is deleted (a day after it was made).
     */
    expiresAt: string;
    /**
     * `upload:<uploadId>`
     */
    ref: string;
};
/**
 * Model parameters: the documented ones for each model, or any other the API accepts.
 */
type Parameters = Record<string, unknown>;
/**
 * What a submit says beside the model's parameters; each is sent only when given.
 */
type SubmitFields = {
    /**
     * Default: the client's.
     */
    userId?: string | undefined;
    /**
     * Run the job on this provider only, with no failover. Default:
     * the model's routing, which fails over between providers.
     */
    provider?: Provider | undefined;
    /**
     * Reuse an identical job's result (true) or not (false). Default: the
     * service's setting.
     */
    cache?: boolean | undefined;
    /**
     * Where this job's events are also posted.
     */
    webhookUrl?: string | undefined;
};
/**
 * What every job's input may hold beside its documented fields: the submit's own fields
 * (userId, provider, cache, webhookUrl) and any parameter the model takes.
 */
type JobInputBase = SubmitFields & Parameters;
type ImageJobFields = {
    prompt: string;
    /**
     * Default 'flux-schnell'.
     */
    modelId?: string | undefined;
    width?: number | undefined;
    height?: number | undefined;
    num_outputs?: number | undefined;
    negative_prompt?: string | undefined;
    num_inference_steps?: number | undefined;
    guidance_scale?: number | undefined;
};
type ImageJobInput = ImageJobFields & JobInputBase;
type VideoJobFields = {
    /**
     * The input image: a local file (uploaded first) or a URL string.
     * Give this or imageUrl.
     */
    image?: ImageInput | undefined;
    /**
     * The input image's URL, sent as the model's `image` parameter.
     */
    imageUrl?: string | undefined;
    /**
     * Default 'stability-video'.
     */
    modelId?: string | undefined;
    motion_bucket_id?: number | undefined;
    fps?: number | undefined;
    num_frames?: number | undefined;
};
type VideoJobInput = VideoJobFields & JobInputBase;
type AudioJobFields = {
    prompt: string;
    /**
     * Default 'musicgen'.
     */
    modelId?: string | undefined;
    duration?: number | undefined;
    temperature?: number | undefined;
    top_k?: number | undefined;
    top_p?: number | undefined;
    output_format?: "wav" | "mp3" | undefined;
};
type AudioJobInput = AudioJobFields & JobInputBase;
type GenerateFields = {
    modelId: string;
    /**
     * Looked up in models() (cached) when omitted.
     */
    mediaType?: MediaType | undefined;
};
type GenerateInput = GenerateFields & JobInputBase;
/**
 * The 202 answer to a submission.
 */
type Job = {
    jobId: string;
    /**
     * 'pending', or an identical job's status when its result is reused.
     */
    status: JobStatus;
    /**
     * Seconds until the result is expected.
     */
    estimatedTime: number;
    /**
     * US dollars.
     */
    estimatedCost: number;
    replicateId: string | null;
    /**
     * The provider running the job (null for a reused result).
     */
    provider?: Provider | null | undefined;
    message: string;
    /**
     * Present and true for a reused result.
     */
    cached?: boolean | undefined;
};
type MediaOutput = {
    url: string;
    fileSize: number;
    contentType: string;
    width?: number | undefined;
    height?: number | undefined;
    duration?: number | undefined;
    fps?: number | undefined;
};
/**
 * A completed job's media; the URLs are presigned (a plain GET downloads them).
 */
type JobResult = {
    originalUrl: string;
    thumbnailUrl: string | null;
    s3Path: string;
    fileSize: number;
    contentType: string;
    width?: number | undefined;
    height?: number | undefined;
    duration?: number | undefined;
    fps?: number | undefined;
    /**
     * Every output when the job produced several.
     */
    outputs?: MediaOutput[] | undefined;
};
type JobStatusView = {
    jobId: string;
    status: JobStatus;
    mediaType: MediaType;
    modelId: string;
    userId: string;
    createdAt: string;
    replicateId: string | null;
    /**
     * The provider the job runs (or ran) on (null for a reused
     * result).
     */
    provider?: Provider | null | undefined;
    /**
     * How far the job is, 0 to 1 (1 once completed), never
     * decreasing; null while unknown.
     */
    progress: number | null;
    /**
     * While the job runs; absent once it has ended.
     */
    stage?: Stage | undefined;
    completedAt?: string | null | undefined;
    processingTime?: number | undefined;
    result?: JobResult | undefined;
    error?: string | null | undefined;
    /**
     * Present and true for a reused result.
     */
    cached?: boolean | undefined;
};
type Model = {
    modelId: string;
    mediaType: MediaType;
    description: string;
    pricing: {
        usd: number;
        per: string;
    };
    estimatedTime: number;
    /**
     * The providers that may run it, preferred first.
     */
    providers: string[];
    /**
     * JSON Schema of the model's parameters.
     */
    parameters: Record<string, unknown>;
};
type ListJobsFilters = {
    userId?: string | undefined;
    status?: JobStatus | undefined;
    modelId?: string | undefined;
    /**
     * Jobs created at or after this time (an ISO 8601 string with
     * a zone, or a Date).
     */
    since?: string | Date | undefined;
    /**
     * Jobs fetched per request, 1-100. Default: the service's (20).
     */
    pageSize?: number | undefined;
};
type CursorOption = {
    /**
     * A page's nextCursor: resume there (with the filters it was issued
     * for).
     */
    cursor?: string | undefined;
};
type ListJobsPageFilters = ListJobsFilters & CursorOption;
/**
 * An error answer's body in the API's documented format.
 */
type ErrorBody = {
    error: string;
    details: string;
    code: string;
    retryAfter?: number;
} & Record<string, unknown>;
/**
 * Headers as verifyWebhook takes them: a Headers object, or a plain object such as Node's
 * req.headers (any case of the names).
 */
type WebhookHeaders = {
    get(name: string): string | null;
} | Record<string, string | string[] | undefined>;
type WebhookVerifyOptions = {
    /**
     * Accepted distance between the webhook-timestamp and now, in
     * seconds. Default 300.
     */
    tolerance?: number | undefined;
    /**
     * Now, in milliseconds since the epoch. Default Date.now().
     */
    now?: number | undefined;
};
