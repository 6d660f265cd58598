// The ES module entry's declarations (types/index.d.mts): the default export, and every class
// by name as a value and a type. Type-checked, never run (test/types.test.js).
import VSLClient, {
  VSLClient as Named, VSLError, APIError, APIStatusError, BadRequestError, AuthenticationError,
  PermissionDeniedError, NotFoundError, ConflictError, UnprocessableEntityError, RateLimitError,
  InternalServerError, APIConnectionError, APITimeoutError, JobError, JobFailedError, JobCancelledError,
  WaitTimeoutError, WebhookVerificationError, JobPage, verifyWebhook, VERSION,
} from 'vsl-media';

assertType<typeof Named, typeof VSLClient>();
assertType<typeof verifyWebhook, typeof VSLClient.verifyWebhook>();
assertType<typeof VERSION, string>();

export const classes = [VSLError, APIError, APIStatusError, BadRequestError, AuthenticationError,
  PermissionDeniedError, NotFoundError, ConflictError, UnprocessableEntityError, RateLimitError,
  InternalServerError, APIConnectionError, APITimeoutError, JobError, JobFailedError, JobCancelledError,
  WaitTimeoutError, WebhookVerificationError, JobPage] as const;
assertType<typeof RateLimitError, typeof VSLClient.RateLimitError>();
assertType<typeof JobPage, typeof VSLClient.JobPage>();

export type Instances = [VSLError, APIError, APIStatusError, BadRequestError, AuthenticationError,
  PermissionDeniedError, NotFoundError, ConflictError, UnprocessableEntityError, RateLimitError,
  InternalServerError, APIConnectionError, APITimeoutError, JobError, JobFailedError, JobCancelledError,
  WaitTimeoutError, WebhookVerificationError, JobPage];
assertType<RateLimitError, VSLClient.RateLimitError>();
assertType<JobFailedError['job'], VSLClient.JobStatusView>();

export async function first(client: VSLClient): Promise<VSLClient.JobStatusView | undefined> {
  const page: JobPage = await client.listJobsPage({ pageSize: 1 });
  return page.data[0];
}
