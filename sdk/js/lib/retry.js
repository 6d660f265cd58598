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
