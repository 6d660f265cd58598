// import VSLClient, { RateLimitError } from './sdk/js/index.mjs' (or the package name).
import VSLClient from './index.js';

export default VSLClient;
export const {
  VSLError, APIError, APIStatusError, BadRequestError, AuthenticationError, PermissionDeniedError, NotFoundError,
  ConflictError, UnprocessableEntityError, RateLimitError, InternalServerError,
  APIConnectionError, APITimeoutError, JobError, JobFailedError, JobCancelledError, WaitTimeoutError,
  WebhookVerificationError, verifyWebhook, JobPage, VERSION,
} = VSLClient;
export { VSLClient };

// The classes are types too (`catch (e) { const error: RateLimitError = ... }`): for TypeScript,
// which reads these to write index.d.mts.
/** @typedef {import('./index.js').VSLError} VSLError */
/** @typedef {import('./index.js').APIError} APIError */
/** @typedef {import('./index.js').APIStatusError} APIStatusError */
/** @typedef {import('./index.js').BadRequestError} BadRequestError */
/** @typedef {import('./index.js').AuthenticationError} AuthenticationError */
/** @typedef {import('./index.js').PermissionDeniedError} PermissionDeniedError */
/** @typedef {import('./index.js').NotFoundError} NotFoundError */
/** @typedef {import('./index.js').ConflictError} ConflictError */
/** @typedef {import('./index.js').UnprocessableEntityError} UnprocessableEntityError */
/** @typedef {import('./index.js').RateLimitError} RateLimitError */
/** @typedef {import('./index.js').InternalServerError} InternalServerError */
/** @typedef {import('./index.js').APIConnectionError} APIConnectionError */
/** @typedef {import('./index.js').APITimeoutError} APITimeoutError */
/** @typedef {import('./index.js').JobError} JobError */
/** @typedef {import('./index.js').JobFailedError} JobFailedError */
/** @typedef {import('./index.js').JobCancelledError} JobCancelledError */
/** @typedef {import('./index.js').WaitTimeoutError} WaitTimeoutError */
/** @typedef {import('./index.js').WebhookVerificationError} WebhookVerificationError */
/** @typedef {import('./index.js').JobPage} JobPage */
