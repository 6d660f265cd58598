/*
 * vsl-client.js 0.1.0: the VSL Media API's JavaScript client in one file, with no
 * dependencies (Node 18+). Copy it next to your code:
 *
 *   const VSLClient = require('./vsl-client');
 *   const client = new VSLClient({ apiKey: process.env.VSL_API_KEY, baseUrl: '...' });
 *
 * GENERATED from sdk/js (index.js and lib/) by sdk/js/scripts/build-single-file.js: edit
 * those and run it again, never this file. The npm package (sdk/js) is the same client.
 */
'use strict';

module.exports = (function () {
const sources = {
  "./index": function (module, exports, require) {
'use strict';

// const VSLClient = require('./sdk/js'); the error classes, JobPage and verifyWebhook are
// properties of the class too (lib/client.js).
const VSLClient = require('./lib/client');

module.exports = VSLClient;
  },
  "./lib/client": function (module, exports, require) {
'use strict';

const retry = require('./retry');
const {
  VSLError, APIError, APIStatusError, BadRequestError, AuthenticationError, PermissionDeniedError,
  NotFoundError, ConflictError, UnprocessableEntityError, RateLimitError, InternalServerError,
  APIConnectionError, APITimeoutError, JobError, JobFailedError, JobCancelledError, WaitTimeoutError,
  errorFromResponse,
} = require('./errors');
const { JobPage } = require('./pagination');
const { verifyWebhook, WebhookVerificationError } = require('./webhooks');

// Read, not imported: the declarations must not refer to package.json.
const VERSION = /** @type {string} */ (require('../package.json').version);
const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_WAIT_TIMEOUT_MS = 300_000;
const DEFAULT_MAX_RETRIES = 2;
const DEFAULT_ESTIMATED_TIME_S = 10;
const MIN_POLL_MS = 500;
const MAX_FIRST_POLL_MS = 5_000;
const MAX_POLL_MS = 10_000;
// The longest the service holds a submit for its job to end (Prefer: wait).
const MAX_SERVER_WAIT_S = 25;

// ---- the API's shapes, as the declarations (types/) give them to TypeScript ---------------

/** @typedef {'image' | 'video' | 'audio'} MediaType */
/** @typedef {'pending' | 'processing' | 'completed' | 'failed' | 'cancelled'} JobStatus */
/** @typedef {'queued' | 'starting' | 'generating' | 'storing'} Stage */
/** @typedef {'replicate' | 'fal'} Provider */

/**
 * @typedef {object} ClientOptions
 * @property {string} [apiKey] API key sent as X-API-Key. Default: process.env.VSL_API_KEY.
 * @property {string} [baseUrl] e.g. https://{id}.execute-api.us-east-1.amazonaws.com/homolog.
 *   Default: process.env.VSL_BASE_URL.
 * @property {string | null} [userId] userId of every job unless a call gives one. Default:
 *   process.env.VSL_USER_ID; null sends none (a key bound to a user).
 * @property {number} [maxRetries] Retries after the first attempt. Default 2.
 * @property {number} [timeout] Per-attempt timeout in milliseconds. Default 60000.
 * @property {boolean} [idempotentRetries] Retry POSTs like GETs, relying on the Idempotency-Key
 *   sent with each call (the service replays the first attempt's answer). Default true; false
 *   retries a POST only when nothing was created.
 * @property {typeof globalThis.fetch} [fetch] A fetch implementation. Default: the global fetch
 *   (Node 18+).
 * @property {(ms: number, signal?: AbortSignal) => Promise<void>} [sleep] Waits between attempts
 *   and polls; replace it in tests to record delays instead of waiting.
 */

/**
 * @typedef {object} RequestOptions
 * @property {AbortSignal} [signal]
 * @property {number} [timeout] Per-attempt timeout in milliseconds for this call.
 * @property {number} [maxRetries] Retries after the first attempt for this call.
 */

/**
 * @typedef {object} IdempotencyOption
 * @property {string} [idempotencyKey] The Idempotency-Key of this POST, sent on every attempt:
 *   the service answers a repeat with the first answer (a key sent again with another body is a
 *   422). Default: one per call.
 */

/** @typedef {RequestOptions & IdempotencyOption} PostOptions */

/**
 * @typedef {object} ClientOverrides
 * @property {number} [timeout] Per-attempt timeout in milliseconds.
 * @property {number} [maxRetries] Retries after the first attempt.
 */

/**
 * @typedef {object} WaitOptions
 * @property {number} [timeout] Give up after this many milliseconds with WaitTimeoutError.
 *   Default 300000.
 * @property {(job: JobStatusView) => void | Promise<void>} [onUpdate] Called with the status view
 *   each time its status, stage or progress changes (the first one too).
 * @property {AbortSignal} [signal]
 */

/** @typedef {WaitOptions & IdempotencyOption} RunOptions */

/**
 * @typedef {object} ContentTypeOption
 * @property {string} [contentType] Default: the type the file's first bytes say (PNG, JPEG,
 *   WebP), else a Blob's own type.
 */

/** @typedef {PostOptions & ContentTypeOption} UploadOptions */

/**
 * @typedef {object} DownloadOptions
 * @property {AbortSignal} [signal]
 * @property {number} [timeout] Milliseconds until the answer's headers (the body streams without
 *   a limit).
 * @property {number} [maxRetries]
 */

/**
 * A local file: uploaded (POST /uploads, then a PUT to its presigned link) before it is used.
 * @typedef {Blob | ArrayBuffer | ArrayBufferView} FileInput
 */

/**
 * An input image: a local file, or an http(s) URL, `upload:<uploadId>` or a data: URI.
 * @typedef {string | FileInput} ImageInput
 */

/**
 * POST /uploads, once the file is in: `ref` is what an image parameter takes.
 * @typedef {object} Upload
 * @property {string} uploadId
 * @property {string} uploadUrl The presigned PUT the file went to.
 * @property {string} expiresAt When the upload is deleted (a day after it was made).
 * @property {string} ref `upload:<uploadId>`
 */

/**
 * Model parameters: the documented ones for each model, or any other the API accepts.
 * @typedef {Record<string, unknown>} Parameters
 */

/**
 * What a submit says beside the model's parameters; each is sent only when given.
 * @typedef {object} SubmitFields
 * @property {string} [userId] Default: the client's.
 * @property {Provider} [provider] Run the job on this provider only, with no failover. Default:
 *   the model's routing, which fails over between providers.
 * @property {boolean} [cache] Reuse an identical job's result (true) or not (false). Default: the
 *   service's setting.
 * @property {string} [webhookUrl] Where this job's events are also posted.
 */

/**
 * What every job's input may hold beside its documented fields: the submit's own fields
 * (userId, provider, cache, webhookUrl) and any parameter the model takes.
 * @typedef {SubmitFields & Parameters} JobInputBase
 */

/**
 * @typedef {object} ImageJobFields
 * @property {string} prompt
 * @property {string} [modelId] Default 'flux-schnell'.
 * @property {number} [width]
 * @property {number} [height]
 * @property {number} [num_outputs]
 * @property {string} [negative_prompt]
 * @property {number} [num_inference_steps]
 * @property {number} [guidance_scale]
 */
/** @typedef {ImageJobFields & JobInputBase} ImageJobInput */

/**
 * @typedef {object} VideoJobFields
 * @property {ImageInput} [image] The input image: a local file (uploaded first) or a URL string.
 *   Give this or imageUrl.
 * @property {string} [imageUrl] The input image's URL, sent as the model's `image` parameter.
 * @property {string} [modelId] Default 'stability-video'.
 * @property {number} [motion_bucket_id]
 * @property {number} [fps]
 * @property {number} [num_frames]
 */
/** @typedef {VideoJobFields & JobInputBase} VideoJobInput */

/**
 * @typedef {object} AudioJobFields
 * @property {string} prompt
 * @property {string} [modelId] Default 'musicgen'.
 * @property {number} [duration]
 * @property {number} [temperature]
 * @property {number} [top_k]
 * @property {number} [top_p]
 * @property {'wav' | 'mp3'} [output_format]
 */
/** @typedef {AudioJobFields & JobInputBase} AudioJobInput */

/**
 * @typedef {object} GenerateFields
 * @property {string} modelId
 * @property {MediaType} [mediaType] Looked up in models() (cached) when omitted.
 */
/** @typedef {GenerateFields & JobInputBase} GenerateInput */

/**
 * The 202 answer to a submission.
 * @typedef {object} Job
 * @property {string} jobId
 * @property {JobStatus} status 'pending', or an identical job's status when its result is reused.
 * @property {number} estimatedTime Seconds until the result is expected.
 * @property {number} estimatedCost US dollars.
 * @property {string | null} replicateId
 * @property {Provider | null} [provider] The provider running the job (null for a reused result).
 * @property {string} message
 * @property {boolean} [cached] Present and true for a reused result.
 */

/**
 * @typedef {object} MediaOutput
 * @property {string} url
 * @property {number} fileSize
 * @property {string} contentType
 * @property {number} [width]
 * @property {number} [height]
 * @property {number} [duration]
 * @property {number} [fps]
 */

/**
 * A completed job's media; the URLs are presigned (a plain GET downloads them).
 * @typedef {object} JobResult
 * @property {string} originalUrl
 * @property {string | null} thumbnailUrl
 * @property {string} s3Path
 * @property {number} fileSize
 * @property {string} contentType
 * @property {number} [width]
 * @property {number} [height]
 * @property {number} [duration]
 * @property {number} [fps]
 * @property {MediaOutput[]} [outputs] Every output when the job produced several.
 */

/**
 * @typedef {object} JobStatusView
 * @property {string} jobId
 * @property {JobStatus} status
 * @property {MediaType} mediaType
 * @property {string} modelId
 * @property {string} userId
 * @property {string} createdAt
 * @property {string | null} replicateId
 * @property {Provider | null} [provider] The provider the job runs (or ran) on (null for a reused
 *   result).
 * @property {number | null} progress How far the job is, 0 to 1 (1 once completed), never
 *   decreasing; null while unknown.
 * @property {Stage} [stage] While the job runs; absent once it has ended.
 * @property {string | null} [completedAt]
 * @property {number} [processingTime]
 * @property {JobResult} [result]
 * @property {string | null} [error]
 * @property {boolean} [cached] Present and true for a reused result.
 */

/**
 * @typedef {object} Model
 * @property {string} modelId
 * @property {MediaType} mediaType
 * @property {string} description
 * @property {{ usd: number, per: string }} pricing
 * @property {number} estimatedTime
 * @property {string[]} providers The providers that may run it, preferred first.
 * @property {Record<string, unknown>} parameters JSON Schema of the model's parameters.
 */

/**
 * @typedef {object} ListJobsFilters
 * @property {string} [userId]
 * @property {JobStatus} [status]
 * @property {string} [modelId]
 * @property {string | Date} [since] Jobs created at or after this time (an ISO 8601 string with
 *   a zone, or a Date).
 * @property {number} [pageSize] Jobs fetched per request, 1-100. Default: the service's (20).
 */

/**
 * @typedef {object} CursorOption
 * @property {string} [cursor] A page's nextCursor: resume there (with the filters it was issued
 *   for).
 */

/** @typedef {ListJobsFilters & CursorOption} ListJobsPageFilters */

/**
 * An error answer's body in the API's documented format.
 * @typedef {{ error: string, details: string, code: string, retryAfter?: number }
 *   & Record<string, unknown>} ErrorBody
 */

/**
 * Headers as verifyWebhook takes them: a Headers object, or a plain object such as Node's
 * req.headers (any case of the names).
 * @typedef {{ get(name: string): string | null } | Record<string, string | string[] | undefined>} WebhookHeaders
 */

/**
 * @typedef {object} WebhookVerifyOptions
 * @property {number} [tolerance] Accepted distance between the webhook-timestamp and now, in
 *   seconds. Default 300.
 * @property {number} [now] Now, in milliseconds since the epoch. Default Date.now().
 */

/**
 * @param {string} name
 * @returns {string | undefined}
 */
function env(name) {
  return typeof process !== 'undefined' && process.env ? process.env[name] || undefined : undefined;
}

/** @returns {string} */
function randomId() {
  const { crypto } = /** @type {{ crypto?: { randomUUID?: () => string } }} */ (globalThis);
  if (crypto && typeof crypto.randomUUID === 'function') {
    return crypto.randomUUID();
  }
  return require('node:crypto').randomUUID();
}

/**
 * @param {number} ms
 * @param {AbortSignal} [signal]
 * @returns {Promise<void>}
 */
function defaultSleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal && signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      if (signal) signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    if (signal) signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * @param {unknown} value
 * @param {number} fallback
 * @param {string} name
 * @returns {number}
 */
function nonNegativeNumber(value, fallback, name) {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new TypeError(`${name} must be a non-negative number, got ${String(value)}`);
  }
  return value;
}

/**
 * A local file as the client takes it: a Buffer or other byte view, an ArrayBuffer, a Blob.
 * @param {unknown} value
 * @returns {value is FileInput}
 */
function isFileInput(value) {
  return value instanceof ArrayBuffer || ArrayBuffer.isView(value)
    || (typeof Blob !== 'undefined' && value instanceof Blob);
}

/**
 * @param {FileInput} file
 * @returns {Promise<Uint8Array>}
 */
async function bytesOf(file) {
  if (file instanceof ArrayBuffer) return new Uint8Array(file);
  if (ArrayBuffer.isView(file)) return new Uint8Array(file.buffer, file.byteOffset, file.byteLength);
  return new Uint8Array(await file.arrayBuffer());
}

/**
 * The image type a file's first bytes say (as the service checks them), or null.
 * @param {Uint8Array} bytes
 * @returns {string | null}
 */
function sniffImageType(bytes) {
  /** @param {number[]} sig */
  const starts = (...sig) => sig.every((b, i) => bytes[i] === b);
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'image/png';
  if (starts(0xff, 0xd8, 0xff)) return 'image/jpeg';
  /** @param {number} from @param {number} to */
  const ascii = (from, to) => String.fromCharCode(...bytes.subarray(from, to));
  if (bytes.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'image/webp';
  return null;
}

/**
 * @param {unknown} value
 * @param {string} [name]
 * @returns {number}
 */
function retryCount(value, name = 'maxRetries') {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new TypeError(`${name} must be a non-negative integer, got ${String(value)}`);
  }
  return value;
}

/**
 * @param {{ forEach(callback: (value: string, key: string) => void): void }} headers
 * @returns {Record<string, string>}
 */
function headersObject(headers) {
  /** @type {Record<string, string>} */
  const out = {};
  if (headers && typeof headers.forEach === 'function') headers.forEach((v, k) => { out[k] = v; });
  return out;
}

// The submit body's fields beside the model's parameters: never sent as parameters.
const SUBMIT_FIELD_NAMES = ['userId', 'provider', 'cache', 'webhookUrl'];

/**
 * A job's input split into the submit's own fields (those given) and the model's parameters.
 * @param {Record<string, unknown>} input
 * @returns {{ fields: SubmitFields, parameters: Parameters }}
 */
function splitSubmitFields(input) {
  /** @type {Record<string, unknown>} */
  const fields = {};
  /** @type {Parameters} */
  const parameters = {};
  for (const [name, value] of Object.entries(input)) {
    if (!SUBMIT_FIELD_NAMES.includes(name)) parameters[name] = value;
    else if (value !== undefined && value !== null) fields[name] = value;
  }
  return { fields, parameters };
}

const OPTION_NAMES = ['apiKey', 'baseUrl', 'userId', 'maxRetries', 'timeout', 'idempotentRetries',
  'fetch', 'sleep'];

/** @param {unknown} value */
function describe(value) {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

/**
 * @param {unknown} value
 * @returns {value is Record<string, unknown>}
 */
function isOptions(value) {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The constructor's arguments as one options object: `(options)`, `(apiKey)` or
 * `(apiKey, options)`. Anything that would be ignored (a second options object, an
 * unknown option, a key given twice) is a TypeError instead.
 * @param {unknown[]} args
 * @returns {ClientOptions}
 */
function constructorOptions(args) {
  if (args.length > 2) throw new TypeError(`new VSLClient() takes at most 2 arguments, got ${args.length}`);
  const [first, second] = args;
  if (typeof first === 'string') {
    if (second !== undefined && !isOptions(second)) {
      throw new TypeError(`new VSLClient(apiKey, options): options must be an object, not ${describe(second)}`);
    }
    if (second && second.apiKey !== undefined) {
      throw new TypeError('new VSLClient(apiKey, options): the API key is given twice (the string and options.apiKey)');
    }
    return checkedOptions({ ...second, apiKey: first });
  }
  if (first === undefined && second === undefined) return {};
  if (!isOptions(first)) {
    throw new TypeError('new VSLClient() takes an options object ({ apiKey, baseUrl, userId, ... }) '
      + `or an API key string, not ${describe(first)}`);
  }
  if (second !== undefined) {
    throw new TypeError('new VSLClient(options) takes one options object; put every setting in it');
  }
  return checkedOptions(first);
}

/**
 * @param {Record<string, unknown>} options
 * @returns {ClientOptions}
 */
function checkedOptions(options) {
  const unknown = Object.keys(options).filter((name) => !OPTION_NAMES.includes(name));
  if (unknown.length) {
    throw new TypeError(`new VSLClient(): unknown option ${unknown.join(', ')}; the options are ${OPTION_NAMES.join(', ')}`);
  }
  return /** @type {ClientOptions} */ (options);
}

/**
 * Client for the VSL Media API. Zero dependencies: Node 18+ global fetch.
 *
 *   const client = new VSLClient({ apiKey, baseUrl, userId });   // or new VSLClient(apiKey, { baseUrl })
 *   const job = await client.generateImage({ prompt: 'A beautiful sunset' });
 *   const result = await client.waitForCompletion(job.jobId);
 */
class VSLClient {
  /**
   * Options, or the API key alone (`new VSLClient(key)`), or both (`new VSLClient(key, { baseUrl })`).
   * @overload
   * @param {ClientOptions} [options]
   */
  /**
   * @overload
   * @param {string} apiKey
   * @param {Omit<ClientOptions, 'apiKey'>} [options]
   */
  /** @param {unknown[]} args */
  constructor(...args) {
    const {
      apiKey = env('VSL_API_KEY'),
      baseUrl = env('VSL_BASE_URL'),
      userId = env('VSL_USER_ID'),
      maxRetries = DEFAULT_MAX_RETRIES,
      timeout = DEFAULT_TIMEOUT_MS,
      idempotentRetries = true,
      fetch: fetchImpl = globalThis.fetch,
      sleep = defaultSleep,
    } = constructorOptions(args);
    if (!apiKey) {
      throw new VSLError('No API key: pass { apiKey } or set VSL_API_KEY.', { code: 'CONFIGURATION' });
    }
    if (!baseUrl) {
      throw new VSLError('No base URL: pass { baseUrl } or set VSL_BASE_URL.', { code: 'CONFIGURATION' });
    }
    if (typeof fetchImpl !== 'function') {
      throw new VSLError('No fetch: use Node 18+ or pass { fetch }.', { code: 'CONFIGURATION' });
    }
    /** @readonly */
    this.apiKey = apiKey;
    /** @readonly */
    this.baseUrl = String(baseUrl).replace(/\/+$/, '');
    /** @readonly */
    this.userId = userId || undefined;
    /** @readonly */
    this.maxRetries = retryCount(maxRetries);
    /** @readonly */
    this.timeout = nonNegativeNumber(timeout, DEFAULT_TIMEOUT_MS, 'timeout');
    /** @readonly */
    this.idempotentRetries = Boolean(idempotentRetries);
    /** @private */
    this._fetch = fetchImpl;
    /** @private */
    this._sleep = sleep;
    /**
     * The catalog, shared by concurrent callers.
     * @private
     * @type {Promise<Model[]> | null}
     */
    this._models = null;
  }

  /**
   * A client like this one with another per-attempt `timeout` (ms) or `maxRetries`, sharing its
   * settings and catalog cache: `client.withOptions({ timeout: 5000, maxRetries: 0 }).getStatus(id)`.
   * @param {ClientOverrides} [options]
   * @returns {VSLClient}
   */
  withOptions(options = {}) {
    const { timeout, maxRetries } = options;
    const copy = Object.create(Object.getPrototypeOf(this));
    Object.assign(copy, this);
    if (timeout !== undefined) copy.timeout = nonNegativeNumber(timeout, this.timeout, 'timeout');
    if (maxRetries !== undefined) copy.maxRetries = retryCount(maxRetries);
    return copy;
  }

  // ---- jobs -------------------------------------------------------------------------------

  /**
   * Submit an image job: `prompt` plus the model's parameters (width, height, ...).
   * @param {ImageJobInput} input
   * @param {PostOptions} [options]
   * @returns {Promise<Job>}
   */
  generateImage(input, options) {
    const { prompt, modelId = 'flux-schnell', ...rest } = input;
    return this._submit({ mediaType: 'image', modelId, ...splitSubmitFields({ prompt, ...rest }) }, options);
  }

  /**
   * Submit a video job animating `image`: a local file (Buffer, Uint8Array, ArrayBuffer or Blob,
   * uploaded first) or a string (an http(s) URL, `upload:<id>` or a data: URI). `imageUrl` is the
   * same as a string `image`.
   * @param {VideoJobInput} input
   * @param {PostOptions} [options]
   * @returns {Promise<Job>}
   */
  async generateVideo(input, options) {
    const { image, imageUrl, modelId = 'stability-video', ...rest } = input;
    if ((image === undefined) === (imageUrl === undefined)) {
      throw new TypeError('generateVideo() takes one image: image (a file or a URL) or imageUrl');
    }
    const { fields, parameters } = splitSubmitFields(rest);
    const inputs = await this._inputs({ image: image === undefined ? imageUrl : image, ...parameters }, options);
    return this._submit({ mediaType: 'video', modelId, fields, parameters: inputs }, options);
  }

  /**
   * Submit an audio job: `prompt` plus the model's parameters (duration, ...).
   * @param {AudioJobInput} input
   * @param {PostOptions} [options]
   * @returns {Promise<Job>}
   */
  generateAudio(input, options) {
    const { prompt, modelId = 'musicgen', ...rest } = input;
    return this._submit({ mediaType: 'audio', modelId, ...splitSubmitFields({ prompt, ...rest }) }, options);
  }

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
  async generate(input, options) {
    const { modelId, mediaType, ...rest } = input;
    const { fields, parameters } = splitSubmitFields(rest);
    if (!modelId || typeof modelId !== 'string') throw new TypeError('generate() needs a modelId');
    const type = mediaType || await this._mediaTypeOf(modelId, options);
    const inputs = await this._inputs(parameters, options);
    return this._submit({ mediaType: type, modelId, fields, parameters: inputs }, options);
  }

  /**
   * Submit a job and resolve to its result: the service holds the submit until the job ends (up
   * to 25 s, `Prefer: wait`), then the client polls as waitForCompletion does. Rejects with
   * JobFailedError, JobCancelledError, or WaitTimeoutError after `timeout` ms in all. The input
   * is generate()'s.
   * @param {GenerateInput} input
   * @param {RunOptions} [options]
   * @returns {Promise<JobResult>}
   */
  async run(input, options = {}) {
    const { modelId, mediaType, ...rest } = input;
    const { fields, parameters } = splitSubmitFields(rest);
    const { timeout = DEFAULT_WAIT_TIMEOUT_MS, onUpdate, signal, idempotencyKey } = options;
    if (!modelId || typeof modelId !== 'string') throw new TypeError('run() needs a modelId');
    const timeoutMs = nonNegativeNumber(timeout, DEFAULT_WAIT_TIMEOUT_MS, 'timeout');
    const started = performance.now();
    const type = mediaType || await this._mediaTypeOf(modelId, { signal });
    const inputs = await this._inputs(parameters, { signal });
    const waitS = Math.floor(Math.min(MAX_SERVER_WAIT_S, timeoutMs / 1000, this.timeout / 1000 - 5));
    const { status, body } = await this._submit({ mediaType: type, modelId, fields, parameters: inputs },
      { signal, idempotencyKey, headers: waitS >= 1 ? { Prefer: `wait=${waitS}` } : {}, withStatus: true });
    if (status === 200) {
      if (onUpdate) await onUpdate(body);
      if (body.status === 'failed') throw new JobFailedError(body);
      if (body.status === 'cancelled') throw new JobCancelledError(body);
      return body.result;
    }
    const left = Math.max(0, timeoutMs - (performance.now() - started));
    return this.waitForCompletion(body, { timeout: left, onUpdate, signal });
  }

  /**
   * Upload a local file (Buffer, Uint8Array, ArrayBuffer or Blob) for use as an input image;
   * resolves to `{ uploadId, uploadUrl, expiresAt, ref }`, where `ref` (`upload:<id>`) is what an
   * image parameter takes. PNG, JPEG or WebP of at most 10 MiB, kept for a day. The type is read
   * from the file's first bytes unless `contentType` is given.
   * @param {FileInput} file
   * @param {UploadOptions} [options]
   * @returns {Promise<Upload>}
   */
  async upload(file, options = {}) {
    const { contentType, signal, idempotencyKey, timeout, maxRetries } = options;
    if (!isFileInput(file)) throw new TypeError('upload() takes a Buffer, Uint8Array, ArrayBuffer or Blob');
    const bytes = await bytesOf(file);
    const type = contentType || sniffImageType(bytes)
      || (typeof Blob !== 'undefined' && file instanceof Blob && file.type) || 'application/octet-stream';
    const created = await this._api('POST', '/uploads', { contentType: type, size: bytes.byteLength },
      { signal, idempotencyKey, timeout, maxRetries });
    // The link carries its own authorization: our key must not leave for the bucket.
    await this._withRetries(created.uploadUrl, { method: 'PUT', headers: { 'Content-Type': type }, body: bytes }, {
      signal, timeout, maxRetries, repeatable: true, read: (response, failed) => response.arrayBuffer().catch((cause) => { throw failed(cause); }),
    });
    return { ...created, ref: `upload:${created.uploadId}` };
  }

  /**
   * The job's status view: status, and `result` once completed or `error` once failed.
   * @param {string | { jobId: string }} job a jobId, or a job (the 202 answer or a status view)
   * @param {RequestOptions} [options]
   * @returns {Promise<JobStatusView>}
   */
  getStatus(job, options) {
    return this._api('GET', `/status/${encodeURIComponent(this._jobIdOf(job))}`, undefined, options);
  }

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
  async waitForCompletion(job, options = {}) {
    const { timeout = DEFAULT_WAIT_TIMEOUT_MS, onUpdate, signal } = options;
    const jobId = this._jobIdOf(job);
    const timeoutMs = nonNegativeNumber(timeout, DEFAULT_WAIT_TIMEOUT_MS, 'timeout');
    const deadline = performance.now() + timeoutMs;
    let estimate = job && typeof job === 'object' ? Number(job.estimatedTime) : NaN;
    /** @type {number | null} */
    let delayMs = null;
    /** @type {string | null} */
    let lastSeen = null;
    let polls = 0;
    for (;;) {
      let view;
      try {
        view = await this._api('GET', `/status/${encodeURIComponent(jobId)}`, undefined,
          { signal, retryRateLimits: false });
      } catch (error) {
        if (!(error instanceof RateLimitError)) throw error;
        const waitMs = error.retryAfter !== null ? error.retryAfter * 1000 : retry.backoffMs(polls);
        if (performance.now() + waitMs > deadline) throw error; // cannot poll again in time
        await this._sleep(waitMs, signal);
        polls += 1;
        continue;
      }
      polls += 1;
      const seen = JSON.stringify([view.status, view.stage ?? null, view.progress ?? null]);
      if (seen !== lastSeen) {
        lastSeen = seen;
        if (onUpdate) await onUpdate(view);
      }
      if (view.status === 'completed') return view.result;
      if (view.status === 'failed') throw new JobFailedError(view);
      if (view.status === 'cancelled') throw new JobCancelledError(view);
      const remaining = deadline - performance.now();
      if (remaining <= 0) throw new WaitTimeoutError(view, timeoutMs);
      if (delayMs === null) {
        if (!Number.isFinite(estimate)) estimate = await this._cachedEstimate(view.modelId);
        delayMs = Math.min(Math.max(estimate * 100, MIN_POLL_MS), MAX_FIRST_POLL_MS);
      } else {
        delayMs = Math.min(delayMs * 1.5, MAX_POLL_MS);
      }
      await this._sleep(Math.min(delayMs, remaining), signal);
    }
  }

  /**
   * Cancel a pending or processing job; resolves to its status view (now cancelled). Cancelling
   * a cancelled job answers the same; one that completed or failed rejects with a ConflictError
   * of code JOB_NOT_CANCELLABLE (its `body.status` says which).
   * @param {string | { jobId: string }} job
   * @param {PostOptions} [options]
   * @returns {Promise<JobStatusView>}
   */
  cancelJob(job, options) {
    return this._api('POST', `/jobs/${encodeURIComponent(this._jobIdOf(job))}/cancel`, undefined, options);
  }

  /**
   * The same as cancelJob, by the Python client's name.
   * @param {string | { jobId: string }} job
   * @param {PostOptions} [options]
   * @returns {Promise<JobStatusView>}
   */
  cancel(job, options) {
    return this.cancelJob(job, options);
  }

  /**
   * The key's jobs, newest first, as status views: `for await (const job of client.listJobs())`.
   * Pages are fetched as the loop goes (`pageSize` jobs a request, 1-100; the service's default
   * is 20). Filters: userId, status, modelId, since (a Date or an ISO 8601 string with a zone).
   * @param {ListJobsFilters} [filters]
   * @param {RequestOptions} [options]
   * @returns {AsyncGenerator<JobStatusView, void, undefined>}
   */
  listJobs(filters = {}, options) {
    return this._jobs(this._listQuery(filters), options);
  }

  /**
   * One page of listJobs (the first, or the one `cursor` points at, with the filters it was
   * issued for): resolves to a JobPage with `data`, `nextCursor`, `hasNextPage()`, `nextPage()`;
   * `for await (const job of page)` goes on through the later pages.
   * @param {ListJobsPageFilters} [filters]
   * @param {RequestOptions} [options]
   * @returns {Promise<JobPage>}
   */
  listJobsPage(filters = {}, options) {
    const { cursor, ...rest } = filters;
    return this._page(this._listQuery(rest), cursor || null, options);
  }

  /**
   * The model catalog: modelId, mediaType, description, pricing, estimatedTime, parameters.
   * @param {RequestOptions} [options]
   * @returns {Promise<Model[]>}
   */
  async models(options) {
    const body = await this._api('GET', '/models', undefined, options);
    const models = Array.isArray(body && body.models) ? body.models : [];
    this._models = Promise.resolve(models);
    return models;
  }

  /**
   * Stream a result's media (its `originalUrl`, or a URL string) to a file at `path`.
   * Written to `path + '.part'` first, so a failed download leaves no truncated file.
   * Resolves to `path`.
   * @param {JobResult | string} result
   * @param {string} path
   * @param {DownloadOptions} [options]
   * @returns {Promise<string>}
   */
  async download(result, path, options = {}) {
    const { signal, timeout, maxRetries } = options;
    const url = typeof result === 'string' ? result : result && result.originalUrl;
    if (!url) throw new TypeError('download() needs a result with originalUrl, or a URL');
    if (!path) throw new TypeError('download() needs a file path');
    const fs = require('node:fs');
    const { pipeline } = require('node:stream/promises');
    const { Readable } = require('node:stream');
    const partial = `${path}.part`;
    await fs.promises.writeFile(partial, ''); // a path we cannot write fails here, not as a network error
    // The URL is presigned: it carries its own authorization, and our key must not leave for S3.
    await this._withRetries(url, { method: 'GET' }, {
      signal,
      timeout,
      maxRetries,
      repeatable: true,
      bodyWithinTimeout: false,
      read: async (response, failed) => {
        if (!response.body) throw new VSLError('The download has no body', { code: 'EMPTY_DOWNLOAD' });
        const source = Readable.fromWeb(response.body);
        let sourceFailed = false;
        source.once('error', () => { sourceFailed = true; });
        try {
          await pipeline(source, fs.createWriteStream(partial));
        } catch (cause) {
          throw sourceFailed ? failed(cause) : cause; // a lost connection is retried, a full disk is not
        }
      },
    }).catch(async (error) => {
      await fs.promises.rm(partial, { force: true });
      throw error;
    });
    await fs.promises.rename(partial, path);
    return path;
  }

  // ---- internals --------------------------------------------------------------------------

  /**
   * @private
   * @param {ListJobsFilters} filters
   */
  _listQuery({ userId, status, modelId, since, pageSize }) {
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries({ userId, status, modelId, since, limit: pageSize })) {
      if (value !== undefined && value !== null && value !== '') {
        query.set(name, value instanceof Date ? value.toISOString() : String(value));
      }
    }
    return query;
  }

  /**
   * @private
   * @param {URLSearchParams} query
   * @param {string | null} cursor
   * @param {RequestOptions | undefined} options
   * @returns {Promise<JobPage>}
   */
  async _page(query, cursor, options) {
    // The service binds a cursor to the filters it was issued with: every page asks with the
    // same ones. A page may hold fewer jobs than asked, even none, and still not be the last.
    const page = new URLSearchParams(query);
    if (cursor) page.set('cursor', cursor);
    const search = page.toString();
    const body = await this._api('GET', `/jobs${search ? `?${search}` : ''}`, undefined, options);
    if (!body || !Array.isArray(body.jobs)) {
      throw new VSLError('GET /jobs answered without a list of jobs', { code: 'INVALID_RESPONSE' });
    }
    const next = typeof body.nextCursor === 'string' && body.nextCursor ? body.nextCursor : null;
    return new JobPage(body.jobs, next, (after) => this._page(query, after, options));
  }

  /**
   * @private
   * @param {URLSearchParams} query
   * @param {RequestOptions | undefined} options
   * @returns {AsyncGenerator<JobStatusView, void, undefined>}
   */
  async* _jobs(query, options) {
    // A generator, so that nothing is asked before the first job is wanted.
    yield* await this._page(query, null, options);
  }

  /**
   * @private
   * @param {string | { jobId: string }} job
   * @returns {string}
   */
  _jobIdOf(job) {
    const jobId = job && typeof job === 'object' ? job.jobId : job;
    if (typeof jobId !== 'string' || !jobId) throw new TypeError('a jobId (or a job with jobId) is required');
    return jobId;
  }

  /**
   * @private
   * @param {{ mediaType: MediaType, modelId: string, fields: SubmitFields, parameters: Parameters }} job
   * @param {PostOptions & { retryRateLimits?: boolean, headers?: Record<string, string>, withStatus?: boolean }} [options]
   */
  async _submit({ mediaType, modelId, fields: { userId, ...fields }, parameters }, options = {}) {
    /** @type {Record<string, unknown>} */
    const body = { mediaType, modelId, parameters, ...fields };
    const user = userId || this.userId;
    if (user) body.userId = user;
    try {
      return await this._api('POST', '/generate-media', body, options);
    } catch (error) {
      // A key bound to no user needs a userId on every job: say where this client takes one.
      if (!user && error instanceof BadRequestError && error.code === 'MISSING_PARAMETER'
          && String(error.details || '').startsWith('userId')) {
        const hint = '. Pass { userId } (to the client or to this call) or set VSL_USER_ID.';
        error.details += hint;
        error.message += hint;
      }
      throw error;
    }
  }

  /**
   * The parameters, each local file among them uploaded and named by its `upload:<id>`.
   * @private
   * @param {Parameters} parameters
   * @param {RequestOptions} [options]
   * @returns {Promise<Parameters>}
   */
  async _inputs(parameters, options = {}) {
    /** @type {Parameters} */
    const out = {};
    for (const [name, value] of Object.entries(parameters)) {
      const { signal, timeout, maxRetries } = options; // the call's key is the job's, not the upload's
      out[name] = isFileInput(value) ? (await this.upload(value, { signal, timeout, maxRetries })).ref : value;
    }
    return out;
  }

  /**
   * @private
   * @param {RequestOptions} [options]
   * @returns {Promise<Model[]>}
   */
  async _catalog(options) {
    if (!this._models) {
      const pending = this.models(options);
      this._models = pending;
      pending.catch(() => { if (this._models === pending) this._models = null; });
    }
    return this._models;
  }

  /**
   * @private
   * @param {string} modelId
   * @param {RequestOptions} [options]
   * @returns {Promise<MediaType>}
   */
  async _mediaTypeOf(modelId, options) {
    let models = await this._catalog(options);
    if (!models.some((m) => m.modelId === modelId)) { // the catalog may have grown since cached
      this._models = null;
      models = await this._catalog(options);
    }
    const model = models.find((m) => m.modelId === modelId);
    if (!model) {
      const known = models.map((m) => m.modelId).join(', ');
      throw new VSLError(`Unknown modelId '${modelId}'. Available: ${known}`,
        { code: 'UNKNOWN_MODEL', details: `Available models: ${known}` });
    }
    return model.mediaType;
  }

  /**
   * @private
   * @param {string} modelId
   * @returns {Promise<number>}
   */
  async _cachedEstimate(modelId) {
    if (this._models) {
      const models = await this._models.catch(() => []);
      const model = models.find((m) => m.modelId === modelId);
      const seconds = Number(model && model.estimatedTime);
      if (Number.isFinite(seconds) && seconds > 0) return seconds;
    }
    return DEFAULT_ESTIMATED_TIME_S;
  }

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
  async _api(method, path, body, { signal, timeout, maxRetries, idempotencyKey, retryRateLimits = true,
    headers: extra = {}, withStatus = false } = {}) {
    /** @type {Record<string, string>} */
    const headers = {
      'X-API-Key': this.apiKey,
      Accept: 'application/json',
      'User-Agent': `vsl-js/${VERSION}`,
      ...extra,
    };
    let payload;
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const isGet = method === 'GET' || method === 'HEAD';
    if (idempotencyKey !== undefined && (typeof idempotencyKey !== 'string' || !idempotencyKey)) {
      throw new TypeError('idempotencyKey must be a non-empty string');
    }
    // One key per call (the caller's, or ours), the same on every attempt: a retried submission
    // replays the first job instead of making a second one.
    if (!isGet) headers['Idempotency-Key'] = idempotencyKey || `vsl-js-${randomId()}`;
    const { status, text } = await this._withRetries(this.baseUrl + path,
      { method, headers, body: payload }, {
        signal,
        timeout,
        maxRetries,
        repeatable: isGet || this.idempotentRetries,
        retryRateLimits,
        read: async (response, failed) => ({
          status: response.status,
          text: await response.text().catch((cause) => { throw failed(cause); }),
        }),
      });
    try {
      const parsed = JSON.parse(text);
      return withStatus ? { status, body: parsed } : parsed;
    } catch (cause) {
      throw new VSLError(`${method} ${path}: the answer is not JSON`,
        { code: 'INVALID_RESPONSE', details: String(text).slice(0, 500), body: text, cause });
    }
  }

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
  async _withRetries(url, init, { signal, timeout, maxRetries, repeatable, retryRateLimits = true,
    bodyWithinTimeout = true, read }) {
    const retries = maxRetries === undefined ? this.maxRetries : retryCount(maxRetries);
    for (let retryIndex = 0; ; retryIndex += 1) {
      let error;
      try {
        return await this._attempt(url, init, { signal, timeout, bodyWithinTimeout, read });
      } catch (caught) {
        if (!(caught instanceof VSLError)) throw caught; // the caller's abort, or a bug
        error = caught;
      }
      const delayMs = !retryRateLimits && error instanceof RateLimitError ? null
        : retry.retryDelayMs(error, { repeatable, retryIndex, maxRetries: retries });
      if (delayMs === null) throw error;
      await this._sleep(delayMs, signal);
    }
  }

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
  async _attempt(url, init, { signal, timeout, bodyWithinTimeout, read }) {
    if (signal && signal.aborted) throw signal.reason;
    const timeoutMs = nonNegativeNumber(timeout, this.timeout, 'timeout');
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const onAbort = () => controller.abort(signal?.reason);
    if (signal) signal.addEventListener('abort', onAbort, { once: true });
    const where = `${init.method} ${String(url).split('?')[0]}`; // a presigned query is a credential
    /** @param {unknown} cause */
    const failed = (cause) => {
      if (signal && signal.aborted) return signal.reason;
      if (timedOut) return new APITimeoutError(`${where} timed out after ${timeoutMs} ms`, { cause });
      const code = retry.connectErrorCode(cause);
      const message = cause instanceof Error ? cause.message : String(cause);
      return new APIConnectionError(`${where} failed: ${message}${code ? ` (${code})` : ''}`,
        { cause, details: code, beforeSending: code !== null && retry.CONNECT_ERROR_CODES.has(code) });
    };
    try {
      let response;
      try {
        response = await this._fetch(url, { ...init, signal: controller.signal });
      } catch (cause) {
        throw failed(cause);
      }
      if (!bodyWithinTimeout) clearTimeout(timer);
      if (!response.ok) {
        let text = '';
        try {
          text = await response.text();
        } catch (cause) {
          throw failed(cause);
        }
        let parsed = null;
        try { parsed = JSON.parse(text); } catch { parsed = null; }
        throw errorFromResponse(response.status, headersObject(response.headers), text,
          retry.retryAfterOf(response.headers, parsed));
      }
      return await read(response, failed);
    } finally {
      clearTimeout(timer);
      if (signal) signal.removeEventListener('abort', onAbort);
    }
  }
}

VSLClient.VERSION = VERSION;

// The package's other names, on the class: `VSLClient.RateLimitError`, `VSLClient.verifyWebhook`.
// They are set here, where the class is declared, for TypeScript to declare them with it.
VSLClient.VSLError = VSLError;
VSLClient.APIError = APIError;
VSLClient.APIStatusError = APIStatusError;
VSLClient.BadRequestError = BadRequestError;
VSLClient.AuthenticationError = AuthenticationError;
VSLClient.PermissionDeniedError = PermissionDeniedError;
VSLClient.NotFoundError = NotFoundError;
VSLClient.ConflictError = ConflictError;
VSLClient.UnprocessableEntityError = UnprocessableEntityError;
VSLClient.RateLimitError = RateLimitError;
VSLClient.InternalServerError = InternalServerError;
VSLClient.APIConnectionError = APIConnectionError;
VSLClient.APITimeoutError = APITimeoutError;
VSLClient.JobError = JobError;
VSLClient.JobFailedError = JobFailedError;
VSLClient.JobCancelledError = JobCancelledError;
VSLClient.WaitTimeoutError = WaitTimeoutError;
VSLClient.WebhookVerificationError = WebhookVerificationError;
VSLClient.verifyWebhook = verifyWebhook;
VSLClient.JobPage = JobPage;
VSLClient.VSLClient = VSLClient;
VSLClient.default = VSLClient;

module.exports = VSLClient;
  },
  "./lib/retry": function (module, exports, require) {
'use strict';

const { APIConnectionError } = require('./errors');

/** @import { VSLError } from './errors' */

/** When and how long to retry: pure functions, so every rule is testable without a network. */

const INITIAL_DELAY_MS = 500;
const MAX_DELAY_MS = 8000;
// A server asking for a longer wait than this gets the error back instead of a blocked caller.
const MAX_RETRY_AFTER_S = 60;

// Failures while connecting: the request was never sent, so even a POST is safe to repeat.
const CONNECT_ERROR_CODES = new Set([
  'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/**
 * Exponential backoff with down-jitter: 0.5 s doubling to 8 s, times a factor in [0.75, 1].
 * @param {number} retryIndex
 * @param {() => number} [random]
 * @returns {number}
 */
function backoffMs(retryIndex, random = Math.random) {
  const index = Number.isInteger(retryIndex) && retryIndex > 0 ? retryIndex : 0;
  const base = Math.min(INITIAL_DELAY_MS * 2 ** Math.min(index, 30), MAX_DELAY_MS);
  const r = Number(random());
  const unit = Number.isFinite(r) ? Math.min(Math.max(r, 0), 1) : 1;
  return base * (1 - 0.25 * unit);
}

/**
 * Seconds asked for by a Retry-After header: delta-seconds or an HTTP date.
 * Anything else (absent, empty, negative, garbage) is null, never NaN.
 * @param {unknown} value
 * @param {number} [nowMs]
 * @returns {number | null}
 */
function parseRetryAfter(value, nowMs = Date.now()) {
  if (value === null || value === undefined) return null;
  const text = String(value).trim();
  if (/^\d+(\.\d+)?$/.test(text)) {
    const seconds = Number(text);
    return Number.isFinite(seconds) ? seconds : null;
  }
  if (/[a-z]/i.test(text)) { // an HTTP date always names a day and a month
    const at = Date.parse(text);
    if (Number.isFinite(at)) return Math.max(0, Math.ceil((at - nowMs) / 1000));
  }
  return null;
}

/**
 * Retry-After of an answer: the header first, else the documented body field.
 * @param {{ get(name: string): string | null } | null | undefined} headers
 * @param {unknown} body the parsed JSON body, if any
 * @param {number} [nowMs]
 * @returns {number | null}
 */
function retryAfterOf(headers, body, nowMs = Date.now()) {
  const fromHeader = parseRetryAfter(headers && headers.get ? headers.get('retry-after') : null, nowMs);
  if (fromHeader !== null) return fromHeader;
  const fromBody = body && typeof body === 'object' && 'retryAfter' in body ? Number(body.retryAfter) : NaN;
  return Number.isFinite(fromBody) && fromBody >= 0 ? fromBody : null;
}

/**
 * @param {number} status
 * @returns {boolean}
 */
function isRetryableStatus(status) {
  return status === 408 || status === 429 || status >= 500;
}

// A 409 saying the first attempt with this Idempotency-Key is still running: it created nothing.
const KEY_IN_USE = 'IDEMPOTENCY_KEY_IN_USE';

/**
 * Whether a failed attempt may be repeated. `repeatable` is true for GETs and, by default, for
 * POSTs: each carries an Idempotency-Key, the same on every attempt, and the service answers a
 * retry with the first attempt's job. Without it, a POST is repeated only on answers proving
 * nothing was created: a connection refused before sending, 429, 503 (throttling), or a 409
 * IDEMPOTENCY_KEY_IN_USE (waited out like a 429 either way).
 * @param {VSLError} error
 * @param {boolean} repeatable
 * @returns {boolean}
 */
function mayRetry(error, repeatable) {
  if (error.status === 409) return error.code === KEY_IN_USE;
  if (typeof error.status === 'number') {
    if (!isRetryableStatus(error.status)) return false;
    return repeatable || error.status === 429 || error.status === 503;
  }
  if (error instanceof APIConnectionError) { // timeouts too: a timed-out POST may have landed
    return repeatable || error.beforeSending === true;
  }
  return false;
}

/**
 * Milliseconds to wait before the next attempt, or null to give up and throw.
 * Retry-After comes first; a wait longer than MAX_RETRY_AFTER_S is not retried.
 * @param {VSLError} error
 * @param {{ repeatable: boolean, retryIndex: number, maxRetries: number, random?: () => number }} attempt
 * @returns {number | null}
 */
function retryDelayMs(error, { repeatable, retryIndex, maxRetries, random = Math.random }) {
  if (!(retryIndex < maxRetries) || !mayRetry(error, repeatable)) return null;
  const asked = error.retryAfter;
  if (typeof asked === 'number' && Number.isFinite(asked) && asked >= 0) {
    return asked <= MAX_RETRY_AFTER_S ? asked * 1000 : null;
  }
  return backoffMs(retryIndex, random);
}

/**
 * The system error code (ECONNREFUSED, ...) of a failed fetch, or null.
 * @param {unknown} error what fetch rejected with
 * @returns {string | null}
 */
function connectErrorCode(error) {
  /** @param {unknown} value */
  const codeOf = (value) => (value && typeof value === 'object' && 'code' in value
    && typeof value.code === 'string' ? value.code : null);
  const cause = error && typeof error === 'object' && 'cause' in error ? error.cause : undefined;
  return codeOf(cause) || codeOf(error) || null;
}

module.exports = {
  INITIAL_DELAY_MS,
  MAX_DELAY_MS,
  MAX_RETRY_AFTER_S,
  CONNECT_ERROR_CODES,
  backoffMs,
  parseRetryAfter,
  retryAfterOf,
  isRetryableStatus,
  mayRetry,
  retryDelayMs,
  connectErrorCode,
};
  },
  "./lib/errors": function (module, exports, require) {
'use strict';

/** @import { ErrorBody, JobStatusView } from './client' */

/**
 * What a VSLError carries; every field defaults to null.
 * @typedef {object} VSLErrorOptions
 * @property {number | null} [status]
 * @property {string | null} [code]
 * @property {string | null} [details]
 * @property {number | null} [retryAfter]
 * @property {ErrorBody | string | null} [body]
 * @property {Record<string, string> | null} [headers]
 * @property {unknown} [cause]
 */

/**
 * Every error the client throws. HTTP errors carry the API's documented body:
 * `status` (HTTP status), `code` (e.g. RATE_LIMIT_EXCEEDED), `details`, and
 * `retryAfter` in seconds when the server said when to retry.
 */
class VSLError extends Error {
  /**
   * @param {string} message
   * @param {VSLErrorOptions} [options]
   */
  constructor(message, options = {}) {
    const { status = null, code = null, details = null, retryAfter = null, body = null,
      headers = null, cause } = options;
    super(message, cause === undefined ? undefined : { cause });
    this.name = new.target.name;
    /** HTTP status, or null when there was no HTTP answer (connection, job and wait errors). */
    this.status = status;
    /**
     * The API's code (e.g. RATE_LIMIT_EXCEEDED), HTTP_<status> for other bodies, or the
     * client's own (TIMEOUT, JOB_FAILED, ...).
     */
    this.code = code;
    this.details = details;
    /** Seconds the server asked to wait before retrying, or null. */
    this.retryAfter = retryAfter;
    /** The parsed error body, or its text when it was not JSON. */
    this.body = body;
    this.headers = headers;
  }
}

// The names and the hierarchy are openai's, and the Python client's too (vsl/_errors.py):
// APIError for any failed request, APIStatusError for an HTTP answer (one subclass per
// documented status), APIConnectionError and APITimeoutError for none.

/** A request did not get a successful answer. */
class APIError extends VSLError {}

/** The service answered with an error status; the subclasses name the documented ones. */
class APIStatusError extends APIError {
  /**
   * @param {string} message
   * @param {VSLErrorOptions & { status: number }} options
   */
  constructor(message, options) {
    super(message, options);
    // Null only for an error made by hand without one: the client always gives the status.
    /** The HTTP status of the answer. */
    this.status = /** @type {number} */ (options?.status ?? null);
  }
}

class BadRequestError extends APIStatusError {}
class AuthenticationError extends APIStatusError {}
class PermissionDeniedError extends APIStatusError {}
class NotFoundError extends APIStatusError {}
class ConflictError extends APIStatusError {}
class UnprocessableEntityError extends APIStatusError {}
class RateLimitError extends APIStatusError {}
class InternalServerError extends APIStatusError {}

/** The request never got an HTTP answer. `beforeSending` is true when nothing was sent. */
class APIConnectionError extends APIError {
  /**
   * @param {string} message
   * @param {VSLErrorOptions & { beforeSending?: boolean }} [options]
   */
  constructor(message, options = {}) {
    const { beforeSending = false, ...rest } = options;
    super(message, { code: 'CONNECTION_ERROR', ...rest });
    /** True when the connection failed before anything was sent. */
    this.beforeSending = beforeSending;
  }
}

class APITimeoutError extends APIConnectionError {
  /**
   * @param {string} message
   * @param {VSLErrorOptions & { beforeSending?: boolean }} [options]
   */
  constructor(message, options = {}) {
    super(message, { code: 'TIMEOUT', ...options });
  }
}

/** A job ended without a result; `job` is its last status view, `details` the job's error. */
class JobError extends VSLError {
  /**
   * @param {string} message
   * @param {JobStatusView} job
   * @param {string} code
   */
  constructor(message, job, code) {
    super(message, { code, details: job.error ?? null });
    this.jobId = job.jobId;
    /** The job's last status view. */
    this.job = job;
  }
}

class JobFailedError extends JobError {
  /** @param {JobStatusView} job */
  constructor(job) {
    super(`Job ${job.jobId} failed: ${job.error || 'no reason given'}`, job, 'JOB_FAILED');
  }
}

class JobCancelledError extends JobError {
  /** @param {JobStatusView} job */
  constructor(job) {
    super(`Job ${job.jobId} was cancelled${job.error ? `: ${job.error}` : ''}`, job, 'JOB_CANCELLED');
  }
}

/** waitForCompletion ran out of time; `job` is the last status seen. */
class WaitTimeoutError extends VSLError {
  /**
   * @param {JobStatusView} job
   * @param {number} timeoutMs
   */
  constructor(job, timeoutMs) {
    super(`Job ${job.jobId} still ${job.status} after ${timeoutMs} ms`,
      { code: 'WAIT_TIMEOUT', details: `last status: ${job.status}` });
    this.jobId = job.jobId;
    /** The last status seen. */
    this.job = job;
    /** The wait's timeout in milliseconds. */
    this.timeout = timeoutMs;
  }
}

/** @type {Record<number, typeof APIStatusError>} */
const BY_STATUS = {
  400: BadRequestError,
  401: AuthenticationError,
  403: PermissionDeniedError,
  404: NotFoundError,
  409: ConflictError,
  422: UnprocessableEntityError,
  429: RateLimitError,
};

/**
 * @param {number} status
 * @returns {typeof APIStatusError}
 */
function errorClassFor(status) {
  if (BY_STATUS[status]) return BY_STATUS[status];
  return status >= 500 ? InternalServerError : APIStatusError;
}

/**
 * The error for a non-2xx answer; `text` is its body, JSON in the documented format or not.
 * @param {number} status
 * @param {Record<string, string>} headers
 * @param {string} text
 * @param {number | null} retryAfter
 * @returns {APIStatusError}
 */
function errorFromResponse(status, headers, text, retryAfter) {
  let body = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = null;
  }
  const documented = body !== null && typeof body === 'object' && !Array.isArray(body);
  const error = documented && typeof body.error === 'string' ? body.error : `HTTP ${status}`;
  const code = documented && typeof body.code === 'string' ? body.code : `HTTP_${status}`;
  const details = documented && typeof body.details === 'string'
    ? body.details : (text || '').slice(0, 500) || null;
  const Class = errorClassFor(status);
  return new Class(details ? `${status} ${error}: ${details}` : `${status} ${error}`, {
    status, code, details, retryAfter, body: documented ? body : text, headers,
  });
}

module.exports = {
  VSLError,
  APIError,
  APIStatusError,
  BadRequestError,
  AuthenticationError,
  PermissionDeniedError,
  NotFoundError,
  ConflictError,
  UnprocessableEntityError,
  RateLimitError,
  InternalServerError,
  APIConnectionError,
  APITimeoutError,
  JobError,
  JobFailedError,
  JobCancelledError,
  WaitTimeoutError,
  errorClassFor,
  errorFromResponse,
};
  },
  "./lib/pagination": function (module, exports, require) {
'use strict';

const { VSLError } = require('./errors');

/** @import { JobStatusView } from './client' */

/**
 * One page of GET /jobs, as openai's cursor pages: `data` and `nextCursor`, `hasNextPage()` and
 * `nextPage()`; `for await (const job of page)` yields its jobs and then every later page's,
 * fetched as the loop reaches them.
 * @implements {AsyncIterable<JobStatusView>}
 */
class JobPage {
  #fetchPage;

  /**
   * Made by the client's listJobsPage() and nextPage(), not by hand.
   * @param {JobStatusView[]} data
   * @param {string | null} nextCursor
   * @param {(cursor: string) => Promise<JobPage>} fetchPage
   */
  constructor(data, nextCursor, fetchPage) {
    /** @readonly */
    this.data = data;
    /**
     * Pass it as `cursor` to listJobsPage (with the same filters) to resume later; null on the
     * last page.
     * @readonly
     */
    this.nextCursor = nextCursor;
    this.#fetchPage = fetchPage;
  }

  /** Whether the service has more: a page may be short, even empty, and not the last. */
  hasNextPage() {
    return this.nextCursor !== null;
  }

  /**
   * The following page (same filters, same request options). Rejects with a VSLError (code
   * NO_NEXT_PAGE) on the last page.
   * @returns {Promise<JobPage>}
   */
  async nextPage() {
    const cursor = this.nextCursor;
    if (cursor === null) {
      throw new VSLError('This is the last page: check hasNextPage() first', { code: 'NO_NEXT_PAGE' });
    }
    return this.#fetchPage(cursor);
  }

  /**
   * This page, then each later one, fetched as the loop reaches it.
   * @returns {AsyncGenerator<JobPage, void, undefined>}
   */
  async* iterPages() {
    /** @type {JobPage} */
    let page = this;
    for (;;) {
      yield page;
      if (!page.hasNextPage()) return;
      page = await page.nextPage();
    }
  }

  /** @returns {AsyncGenerator<JobStatusView, void, undefined>} */
  async* [Symbol.asyncIterator]() {
    for await (const page of this.iterPages()) yield* page.data;
  }
}

module.exports = { JobPage };
  },
  "./lib/webhooks": function (module, exports, require) {
'use strict';

// Verifying the webhooks VSL Media sends to clients, signed per Standard Webhooks
// (https://www.standardwebhooks.com): HMAC-SHA256 of "id.timestamp.body" with the secret.

const { VSLError } = require('./errors');

/** @import { WebhookHeaders, WebhookVerifyOptions } from './client' */

const DEFAULT_TOLERANCE_S = 300;

/** A client webhook that fails Standard Webhooks verification (code INVALID_WEBHOOK). */
class WebhookVerificationError extends VSLError {
  /** @param {string} message */
  constructor(message) {
    super(message, { code: 'INVALID_WEBHOOK', details: message });
  }
}

/**
 * @param {WebhookHeaders} headers
 * @param {string} name
 * @returns {string | undefined}
 */
function headerValue(headers, name) {
  if (!headers) return undefined;
  if (typeof headers.get === 'function') return headers.get(name) ?? undefined;
  const fields = /** @type {Record<string, string | string[] | undefined>} */ (headers);
  const key = Object.keys(fields).find((k) => k.toLowerCase() === name);
  const value = key === undefined ? undefined : fields[key];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Check a webhook's signature and age; returns its parsed JSON body.
 * `payload` is the raw body (string or Buffer) exactly as received; `headers` a Headers object or
 * a plain object (Node's req.headers); `secret` the "whsec_..." signing secret.
 * Throws WebhookVerificationError when a header is missing, the timestamp is more than
 * `tolerance` seconds away from now, or no v1 signature matches.
 * @param {string | Uint8Array} payload
 * @param {WebhookHeaders} headers
 * @param {string} secret
 * @param {WebhookVerifyOptions} [options]
 * @returns {unknown}
 */
function verifyWebhook(payload, headers, secret, options = {}) {
  const { tolerance = DEFAULT_TOLERANCE_S, now = Date.now() } = options;
  const crypto = require('node:crypto');
  if (typeof payload !== 'string' && !(payload instanceof Uint8Array)) {
    throw new TypeError('verifyWebhook() needs the raw body (string or Buffer), not parsed JSON');
  }
  if (typeof secret !== 'string' || !secret) throw new TypeError('verifyWebhook() needs the signing secret');
  const body = typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8');
  const id = headerValue(headers, 'webhook-id');
  const timestamp = headerValue(headers, 'webhook-timestamp');
  const signatures = headerValue(headers, 'webhook-signature');
  if (!id || !timestamp || !signatures) throw new WebhookVerificationError('Missing required headers');
  if (!/^\d+$/.test(String(timestamp))) throw new WebhookVerificationError('Invalid webhook-timestamp');
  const age = now / 1000 - Number(timestamp);
  if (age > tolerance) throw new WebhookVerificationError('Message timestamp too old');
  if (age < -tolerance) throw new WebhookVerificationError('Message timestamp too new');
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
  const expected = crypto.createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest();
  for (const entry of String(signatures).split(' ')) {
    const [version, signature] = entry.split(',');
    if (version !== 'v1' || !signature) continue;
    const given = Buffer.from(signature, 'base64');
    if (given.length === expected.length && crypto.timingSafeEqual(given, expected)) {
      try {
        return JSON.parse(body);
      } catch {
        throw new WebhookVerificationError('The signed body is not JSON');
      }
    }
  }
  throw new WebhookVerificationError('No matching signature found');
}

module.exports = { verifyWebhook, WebhookVerificationError, DEFAULT_TOLERANCE_S };
  },
  "./package.json": function (module) {
  module.exports = {"version":"0.1.0"};
  },
};
const cache = {};
const nodeRequire = typeof require === 'function' ? require : null;

function resolve(from, request) {
  const parts = from.split('/').slice(0, -1);
  for (const part of request.split('/')) {
    if (part === '..') parts.pop();
    else if (part !== '.') parts.push(part);
  }
  return `./${parts.slice(1).join('/')}`.replace(/\.js$/, '');
}

function load(name) {
  if (!cache[name]) {
    const module = { exports: {} };
    cache[name] = module;
    const local = (request) => (request.startsWith('.') ? load(resolve(name, request)) : nodeRequire(request));
    sources[name](module, module.exports, local);
  }
  return cache[name].exports;
}

return load("./index");
}());
