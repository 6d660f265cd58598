variable "stage" {
  description = "Stage name: selects names and settings in chalicelib/resources.json"
  type        = string
  default     = "homolog"
}

variable "region" {
  description = "AWS region to deploy to"
  type        = string
  default     = "us-east-1"
}

variable "media_bucket_name" {
  description = "Media bucket name; null derives vsl-media-STAGE-media (bucket names are global: set one you own)"
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
  description = "Replicate API token (sensitive: pass it as TF_VAR_replicate_api_token)"
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
  description = "Further environment variables for the functions (see the README's Configuration)"
  type        = map(string)
  default     = {}
}
