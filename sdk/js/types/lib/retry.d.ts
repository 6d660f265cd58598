// GENERATED from the JSDoc in lib/retry.js by sdk/js/scripts/build-types.js
// (npm run build:types): edit that and build again, never this file.
/** @import { VSLError } from './errors' */
/** When and how long to retry: pure functions, so every rule is testable without a network. */
export const INITIAL_DELAY_MS: 500;
export const MAX_DELAY_MS: 8000;
export const MAX_RETRY_AFTER_S: 60;
export const CONNECT_ERROR_CODES: Set<string>;
/**
 * Exponential backoff with down-jitter: 0.5 s doubling to 8 s, times a factor in [0.75, 1].
 * @param {number} retryIndex
 * @param {() => number} [random]
 * @returns {number}
 */
export function backoffMs(retryIndex: number, random?: () => number): number;
/**
 * Seconds asked for by a Retry-After header: delta-seconds or an HTTP date.
 * Anything else (absent, empty, negative, garbage) is null, never NaN.
 * @param {unknown} value
 * @param {number} [nowMs]
 * @returns {number | null}
 */
export function parseRetryAfter(value: unknown, nowMs?: number): number | null;
/**
 * Retry-After of an answer: the header first, else the documented body field.
 * @param {{ get(name: string): string | null } | null | undefined} headers
 * @param {unknown} body the parsed JSON body, if any
 * @param {number} [nowMs]
 * @returns {number | null}
 */
export function retryAfterOf(headers: {
    get(name: string): string | null;
} | null | undefined, body: unknown, nowMs?: number): number | null;
/**
 * @param {number} status
 * @returns {boolean}
 */
export function isRetryableStatus(status: number): boolean;
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
export function mayRetry(error: VSLError, repeatable: boolean): boolean;
/**
 * Milliseconds to wait before the next attempt, or null to give up and throw.
 * Retry-After comes first; a wait longer than MAX_RETRY_AFTER_S is not retried.
 * @param {VSLError} error
 * @param {{ repeatable: boolean, retryIndex: number, maxRetries: number, random?: () => number }} attempt
 * @returns {number | null}
 */
export function retryDelayMs(error: VSLError, { repeatable, retryIndex, maxRetries, random }: {
    repeatable: boolean;
    retryIndex: number;
    maxRetries: number;
    random?: () => number;
}): number | null;
/**
 * The system error code (ECONNREFUSED, ...) of a failed fetch, or null.
 * @param {unknown} error what fetch rejected with
 * @returns {string | null}
 */
export function connectErrorCode(error: unknown): string | null;
import type { VSLError } from './errors';
