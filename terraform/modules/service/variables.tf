variable "stage" {
  description = "Stage name: selects names and settings in chalicelib/resources.json"
  type        = string
}

variable "media_bucket_name" {
  description = "Media bucket name; null derives SERVICE-STAGE-media (bucket names are global on AWS)"
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
  description = "Replicate API token given to the functions"
  type        = string
  default     = ""
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
