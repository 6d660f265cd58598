// Types for the ESM entry: `import VSLClient, { RateLimitError } from './sdk/js/index.mjs'`.
import VSLClient = require('./index.js');

export default VSLClient;
export { VSLClient };
export import VSLError = VSLClient.VSLError;
export import APIError = VSLClient.APIError;
export import APIStatusError = VSLClient.APIStatusError;
export import BadRequestError = VSLClient.BadRequestError;
export import AuthenticationError = VSLClient.AuthenticationError;
export import PermissionDeniedError = VSLClient.PermissionDeniedError;
export import NotFoundError = VSLClient.NotFoundError;
export import ConflictError = VSLClient.ConflictError;
export import UnprocessableEntityError = VSLClient.UnprocessableEntityError;
export import RateLimitError = VSLClient.RateLimitError;
export import InternalServerError = VSLClient.InternalServerError;
export import APIConnectionError = VSLClient.APIConnectionError;
export import APITimeoutError = VSLClient.APITimeoutError;
export import JobError = VSLClient.JobError;
export import JobFailedError = VSLClient.JobFailedError;
export import JobCancelledError = VSLClient.JobCancelledError;
export import WaitTimeoutError = VSLClient.WaitTimeoutError;
export import WebhookVerificationError = VSLClient.WebhookVerificationError;
export import verifyWebhook = VSLClient.verifyWebhook;
export import JobPage = VSLClient.JobPage;
export declare const VERSION: string;
