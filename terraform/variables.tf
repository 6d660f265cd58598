variable "stage" {
  description = "Stage name: selects names and settings in chalicelib/resources.json"
  type        = string
  default     = "homolog"
}

variable "region" {
  description = "AWS region to deploy to; null: AWS_REGION or the AWS profile's region (what `make api-key` uses too)"
  type        = string
  default     = null
}

variable "media_bucket_name" {
  description = "Media bucket name; null derives vsl-media-STAGE-ACCOUNT_ID-media (bucket names are global)"
  type        = string
  default     = null
}

variable "original_expiration_days" {
  description = "Days before stored originals expire; null keeps them"
  type        = number
  default     = null
}

variable "thumbnail_expiration_days" {
  description = "Days before thumbnails expire; null keeps them"
  type        = number
  default     = null
}

variable "log_retention_days" {
  description = "Days the functions' CloudWatch logs are kept"
  type        = number
  default     = 30
}

variable "replicate_api_token" {
  description = "Replicate API token, stored in Secrets Manager (sensitive: pass it as TF_VAR_replicate_api_token)"
  type        = string
  sensitive   = true
  validation {
    condition     = length(trimspace(var.replicate_api_token)) > 0
    error_message = "replicate_api_token is empty: export TF_VAR_replicate_api_token=r8_... (every job would fail with 503 without it)."
  }
}

variable "replicate_base_url" {
  description = "Replicate-compatible endpoint; empty means api.replicate.com"
  type        = string
  default     = ""
}

variable "fal_key" {
  description = "fal.ai key, stored in Secrets Manager (sensitive: pass it as TF_VAR_fal_key); empty: fal is not deployed, every job runs on Replicate"
  type        = string
  default     = ""
  sensitive   = true
}

variable "fal_base_url" {
  description = "fal-compatible queue endpoint; empty means queue.fal.run"
  type        = string
  default     = ""
}

variable "function_environment" {
  description = "Further environment variables for the functions (see the README's Configuration)"
  type        = map(string)
  default     = {}
}

variable "alarm_topic_arn" {
  description = "An SNS topic of yours for the alarms; null: the stage's own topic, vsl-media-STAGE-alarms (subscribe to it, or set alarm_email)"
  type        = string
  default     = null
}

variable "alarm_email" {
  description = "An address subscribed to the alarms' topic (AWS mails it a confirmation link first); null: none"
  type        = string
  default     = null
}

# ONE setting per AWS account and region, not per stage: API Gateway writes the
# logs of every stage in the region with the role set here. Every stage applied
# with true claims that one setting, and destroying any of them deletes the role
# the others log with. Keep it true in exactly one stage per account and region
# (false in the others), or false everywhere when the account has a role already
# (`aws apigateway get-account` shows its cloudwatchRoleArn).
variable "manage_api_gateway_account" {
  description = "Set this account's API Gateway CloudWatch role (one setting per account and region, shared by every stage there: see the comment above)"
  type        = bool
  default     = true
}

variable "deletion_protection" {
  description = "The tables refuse deletion: set false before a deliberate destroy"
  type        = bool
  default     = true
}

variable "processor_max_concurrency" {
  description = "Most processor invocations the jobs queue starts at once (2 to 1000): the rest of the account's concurrency stays for the API"
  type        = number
  default     = 5
}

variable "notifications_max_concurrency" {
  description = "Most webhook-delivery invocations the notifications queue starts at once (2 to 1000)"
  type        = number
  default     = 2
}

variable "api_detailed_metrics" {
  description = "Per-method CloudWatch metrics of the API stage (billed as custom metrics for each method)"
  type        = bool
  default     = false
}

variable "api_throttling_rate_limit" {
  description = "Steady requests per second the API stage accepts (over it: 429)"
  type        = number
  default     = 50
}

variable "api_throttling_burst_limit" {
  description = "Requests the API stage accepts in a burst"
  type        = number
  default     = 100
}

variable "max_output_mb" {
  description = "Largest total size of one job's outputs (MB): VSL_MAX_OUTPUT_BYTES, and the media functions' /tmp is this plus 512; at most what the processor moves in its timeout (1800)"
  type        = number
  default     = 1024
}

variable "tracing_mode" {
  description = "X-Ray tracing of the functions and the API stage: Active or PassThrough"
  type        = string
  default     = "Active"
}

variable "secret_recovery_window_days" {
  description = "Days the secrets (the Replicate token's, fal's key's) stay restorable after a destroy (the same stage cannot be re-applied meanwhile; 0 deletes them at once)"
  type        = number
  default     = 7
}
