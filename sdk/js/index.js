'use strict';

// const VSLClient = require('./sdk/js'); the error classes are properties of the class too.
const VSLClient = require('./lib/client');
const errors = require('./lib/errors');
const { verifyWebhook, WebhookVerificationError } = require('./lib/webhooks');

for (const name of [
  'VSLError', 'APIError', 'APIStatusError', 'BadRequestError', 'AuthenticationError', 'PermissionDeniedError', 'NotFoundError',
  'ConflictError', 'UnprocessableEntityError', 'RateLimitError', 'InternalServerError',
  'APIConnectionError', 'APITimeoutError', 'JobError', 'JobFailedError', 'JobCancelledError', 'WaitTimeoutError',
]) {
  VSLClient[name] = errors[name];
}
VSLClient.JobPage = require('./lib/pagination').JobPage;
VSLClient.WebhookVerificationError = WebhookVerificationError;
VSLClient.verifyWebhook = verifyWebhook;
VSLClient.VSLClient = VSLClient;
VSLClient.default = VSLClient;

module.exports = VSLClient;
