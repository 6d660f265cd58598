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
