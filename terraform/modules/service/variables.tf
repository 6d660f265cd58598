variable "chalice_config" {
  description = "The decoded .chalice/config.json: each function's timeout and memory, which Chalice builds them with"
  type        = any
}

variable "media_layer_zip" {
  description = "Path of the media layer's zip (build/media-layer.zip, made by `make package`)"
  type        = string
}

variable "resources" {
  description = "The service's names and settings: the decoded chalicelib/resources.json (tables, queues, bucket, stages), which the app and the local stack read too"
  type        = any
}

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

variable "fal_key" {
  description = "fal.ai key, stored in Secrets Manager for the functions; empty: fal is not deployed (Replicate only)"
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
  description = "Days a deleted secret (the Replicate token's, fal's key's) can still be restored (0 deletes at once)"
  type        = number
  default     = 7
}

variable "max_output_mb" {
  description = "Largest total size of one job's outputs (MB); the processor's and thumbnailer's /tmp is sized from it; at most what the processor moves in its timeout (main.tf: max_movable_output_mb)"
  type        = number
  default     = 1024
  validation {
    condition     = var.max_output_mb >= 1 && var.max_output_mb <= local.max_movable_output_mb
    error_message = "max_output_mb must be between 1 and ${local.max_movable_output_mb}: what the processor fetches and stores in its ${local.processor_timeout} s timeout at about ${local.processor_mb_per_s} MB/s (a larger output fails its job when the copy times out)."
  }
}

# API Gateway writes every stage's logs in a region with ONE role, set per
# account and region (aws_api_gateway_account), not per API or stage: every
# stage applied with true claims that one setting, and destroying any of them
# deletes the role the others log with. Leave it true in exactly one stage per
# account and region (or none, when the account has a role already: `aws
# apigateway get-account` shows its cloudwatchRoleArn) and false in the others.
variable "manage_api_gateway_account" {
  description = "Set the account's API Gateway CloudWatch role: one setting per account and region, shared by every stage there (see the comment above)"
  type        = bool
  default     = true
}

variable "deletion_protection" {
  description = "The tables refuse deletion (turn off before a deliberate destroy)"
  type        = bool
  default     = true
}

variable "processor_max_concurrency" {
  description = "Most processor invocations the jobs queue's event source runs at once (2 to 1000): the rest of the account's concurrency stays for the API"
  type        = number
  default     = 5
  validation {
    condition     = var.processor_max_concurrency >= 2 && var.processor_max_concurrency <= 1000
    error_message = "processor_max_concurrency must be between 2 and 1000 (AWS's range)."
  }
}

variable "notifications_max_concurrency" {
  description = "Most webhook-delivery invocations the notifications queue's event source runs at once (2 to 1000)"
  type        = number
  default     = 2
  validation {
    condition     = var.notifications_max_concurrency >= 2 && var.notifications_max_concurrency <= 1000
    error_message = "notifications_max_concurrency must be between 2 and 1000 (AWS's range)."
  }
}

variable "alarm_email" {
  description = "An address subscribed to the alarms' topic (it must confirm the subscription); null: none"
  type        = string
  default     = null
}

variable "queue_age_alarm_s" {
  description = "Alarm when a queue's oldest message is older than this (seconds): work stuck or piling up"
  type        = number
  default     = 1800
}

variable "api_detailed_metrics" {
  description = "Per-method CloudWatch metrics of the API stage (billed as custom metrics, one set per method)"
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

variable "alarm_topic_arn" {
  description = "An SNS topic of yours for the alarms; null: the stage's own topic SERVICE-STAGE-alarms"
  type        = string
  default     = null
}
