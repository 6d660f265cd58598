variable "stage" {
  description = "Stage name: selects names and settings in chalicelib/resources.json"
  type        = string
}

variable "media_bucket_name" {
  description = "Media bucket name; null derives SERVICE-STAGE-ACCOUNT_ID-media (bucket names are global on AWS)"
  type        = string
  default     = null
}

variable "original_expiration_days" {
  description = "Days before stored originals (and extra outputs) expire; null keeps them"
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

variable "enable_functions" {
  description = "Create the Lambda functions, layer and triggers (off where something else plays them)"
  type        = bool
  default     = true
}

variable "enable_api_gateway" {
  description = "Create the REST API (the local emulator rejects Chalice's Swagger 2.0 body)"
  type        = bool
  default     = true
}

variable "replicate_api_token" {
  description = "Replicate API token, stored in Secrets Manager for the functions"
  type        = string
  sensitive   = true
}

variable "replicate_base_url" {
  description = "Replicate-compatible endpoint; empty means api.replicate.com"
  type        = string
  default     = ""
}

variable "function_environment" {
  description = "Further environment variables for every function (see the README's Configuration)"
  type        = map(string)
  default     = {}
}

variable "force_destroy_buckets" {
  description = "Let `terraform destroy` delete buckets that still hold objects"
  type        = bool
  default     = false
}

variable "tracing_mode" {
  description = "X-Ray tracing mode of the functions (Active or PassThrough)"
  type        = string
  default     = "Active"
}

variable "require_tls" {
  description = "Buckets deny requests not made over TLS"
  type        = bool
  default     = true
}

variable "secret_recovery_window_days" {
  description = "Days a deleted secret can still be restored (0 deletes at once)"
  type        = number
  default     = 7
}

variable "max_output_mb" {
  description = "Largest total size of one job's outputs (MB); the processor's and thumbnailer's /tmp is sized from it"
  type        = number
  default     = 1024
  validation {
    # Lambda's ephemeral storage is at most 10240 MB; 512 MB stay spare.
    condition     = var.max_output_mb >= 1 && var.max_output_mb <= 9728
    error_message = "max_output_mb must be between 1 and 9728."
  }
}

variable "manage_api_gateway_account" {
  description = "Set the account's API Gateway CloudWatch role (one setting per account and region); false when the account has one already"
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

variable "alarm_topic_arn" {
  description = "SNS topic the alarms notify; null creates the alarms without notifications"
  type        = string
  default     = null
}
