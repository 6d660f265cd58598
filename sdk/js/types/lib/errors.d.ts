// GENERATED from the JSDoc in lib/errors.js by sdk/js/scripts/build-types.js
// (npm run build:types): edit that and build again, never this file.
/**
 * What a VSLError carries; every field defaults to null.
 */
export type VSLErrorOptions = {
    status?: number | null | undefined;
    code?: string | null | undefined;
    details?: string | null | undefined;
    retryAfter?: number | null | undefined;
    body?: string | ErrorBody | null | undefined;
    headers?: Record<string, string> | null | undefined;
    cause?: unknown;
};
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
export class VSLError extends Error {
    /**
     * @param {string} message
     * @param {VSLErrorOptions} [options]
     */
    constructor(message: string, options?: VSLErrorOptions);
    /** HTTP status, or null when there was no HTTP answer (connection, job and wait errors). */
    status: number | null;
    /**
     * The API's code (e.g. RATE_LIMIT_EXCEEDED), HTTP_<status> for other bodies, or the
     * client's own (TIMEOUT, JOB_FAILED, ...).
     */
    code: string | null;
    details: string | null;
    /** Seconds the server asked to wait before retrying, or null. */
    retryAfter: number | null;
    /** The parsed error body, or its text when it was not JSON. */
    body: string | ErrorBody | null;
    headers: Record<string, string> | null;
}
/** A request did not get a successful answer. */
export class APIError extends VSLError {
}
/** The service answered with an error status; the subclasses name the documented ones. */
export class APIStatusError extends APIError {
    /**
     * @param {string} message
     * @param {VSLErrorOptions & { status: number }} options
     */
    constructor(message: string, options: VSLErrorOptions & {
        status: number;
    });
    /** The HTTP status of the answer. */
    status: number;
}
export class BadRequestError extends APIStatusError {
}
export class AuthenticationError extends APIStatusError {
}
export class PermissionDeniedError extends APIStatusError {
}
export class NotFoundError extends APIStatusError {
}
export class ConflictError extends APIStatusError {
}
export class UnprocessableEntityError extends APIStatusError {
}
export class RateLimitError extends APIStatusError {
}
export class InternalServerError extends APIStatusError {
}
/** The request never got an HTTP answer. `beforeSending` is true when nothing was sent. */
export class APIConnectionError extends APIError {
    /**
     * @param {string} message
     * @param {VSLErrorOptions & { beforeSending?: boolean }} [options]
     */
    constructor(message: string, options?: VSLErrorOptions & {
        beforeSending?: boolean;
    });
    /** True when the connection failed before anything was sent. */
    beforeSending: boolean;
}
export class APITimeoutError extends APIConnectionError {
}
/** A job ended without a result; `job` is its last status view, `details` the job's error. */
export class JobError extends VSLError {
    /**
     * @param {string} message
     * @param {JobStatusView} job
     * @param {string} code
     */
    constructor(message: string, job: JobStatusView, code: string);
    jobId: string;
    /** The job's last status view. */
    job: JobStatusView;
}
export class JobFailedError extends JobError {
    /** @param {JobStatusView} job */
    constructor(job: JobStatusView);
}
export class JobCancelledError extends JobError {
    /** @param {JobStatusView} job */
    constructor(job: JobStatusView);
}
/** waitForCompletion ran out of time; `job` is the last status seen. */
export class WaitTimeoutError extends VSLError {
    /**
     * @param {JobStatusView} job
     * @param {number} timeoutMs
     */
    constructor(job: JobStatusView, timeoutMs: number);
    jobId: string;
    /** The last status seen. */
    job: JobStatusView;
    /** The wait's timeout in milliseconds. */
    timeout: number;
}
/**
 * @param {number} status
 * @returns {typeof APIStatusError}
 */
export function errorClassFor(status: number): typeof APIStatusError;
/**
 * The error for a non-2xx answer; `text` is its body, JSON in the documented format or not.
 * @param {number} status
 * @param {Record<string, string>} headers
 * @param {string} text
 * @param {number | null} retryAfter
 * @returns {APIStatusError}
 */
export function errorFromResponse(status: number, headers: Record<string, string>, text: string, retryAfter: number | null): APIStatusError;
import type { ErrorBody } from './client';
import type { JobStatusView } from './client';
