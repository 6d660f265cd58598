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
