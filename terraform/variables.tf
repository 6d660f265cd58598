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

variable "function_environment" {
  description = "Further environment variables for the functions (see the README's Configuration)"
  type        = map(string)
  default     = {}
}

variable "alarm_topic_arn" {
  description = "SNS topic the alarms notify (dead letters, function errors and throttles, API 5xx); null: alarms without notifications"
  type        = string
  default     = null
}

variable "manage_api_gateway_account" {
  description = "Set this account's API Gateway CloudWatch role (one setting per account and region, needed for the API's logs); false if the account has one already"
  type        = bool
  default     = true
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
  description = "Largest total size of one job's outputs (MB): VSL_MAX_OUTPUT_BYTES, and the media functions' /tmp is this plus 512"
  type        = number
  default     = 1024
}

variable "tracing_mode" {
  description = "X-Ray tracing of the functions and the API stage: Active or PassThrough"
  type        = string
  default     = "Active"
}

variable "secret_recovery_window_days" {
  description = "Days the token's secret stays restorable after a destroy (the same stage cannot be re-applied meanwhile; 0 deletes it at once)"
  type        = number
  default     = 7
}
