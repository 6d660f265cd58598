variable "emulator_url" {
  description = "The moto server's URL"
  type        = string
  default     = "http://127.0.0.1:5050"
}

variable "stage" {
  description = "Stage name: selects names and settings in chalicelib/resources.json"
  type        = string
  default     = "local"
}

variable "enable_functions" {
  description = "Create the Lambda functions and triggers (off under `make run`, whose event delivery plays them)"
  type        = bool
  default     = true
}

variable "enable_api_gateway" {
  description = "Create the REST API: the emulator rejects Chalice's Swagger 2.0 body, so only a plan may set it"
  type        = bool
  default     = false
}

variable "media_bucket_name" {
  description = "Media bucket name; null: vsl-media-STAGE-media, the local stack's"
  type        = string
  default     = null
}

variable "thumbnail_expiration_days" {
  description = "Days before thumbnails expire; null keeps them"
  type        = number
  default     = null
}

variable "log_retention_days" {
  description = "Days the functions' logs are kept"
  type        = number
  default     = 30
}

variable "replicate_api_token" {
  description = "Stored in the emulator's Secrets Manager; no function runs there, so any value does"
  type        = string
  default     = "emulator-token"
  sensitive   = true
}

variable "fal_key" {
  description = "Stored in the emulator's Secrets Manager when set (no function runs there, so any value does); empty: fal is not deployed"
  type        = string
  default     = ""
  sensitive   = true
}
