// GENERATED from the JSDoc in lib/webhooks.js by sdk/js/scripts/build-types.js
// (npm run build:types): edit that and build again, never this file.
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
export function verifyWebhook(payload: string | Uint8Array, headers: WebhookHeaders, secret: string, options?: WebhookVerifyOptions): unknown;
/** A client webhook that fails Standard Webhooks verification (code INVALID_WEBHOOK). */
export class WebhookVerificationError extends VSLError {
    /** @param {string} message */
    constructor(message: string);
}
/** @import { WebhookHeaders, WebhookVerifyOptions } from './client' */
export const DEFAULT_TOLERANCE_S: 300;
import type { WebhookHeaders } from './client';
import type { WebhookVerifyOptions } from './client';
import { VSLError } from "./errors";
