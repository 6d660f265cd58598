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
