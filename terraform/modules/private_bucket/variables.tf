variable "name" {
  description = "Bucket name (globally unique on AWS)"
  type        = string
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete a bucket that still holds objects"
  type        = bool
  default     = false
}

variable "versioning" {
  description = "Keep earlier versions of overwritten objects"
  type        = bool
  default     = true
}

variable "noncurrent_version_expiration_days" {
  description = "Days an overwritten version is kept"
  type        = number
  default     = 30
}

variable "expiration_days_by_kind" {
  description = "Objects tagged kind=KEY expire after this many days; null keeps them (e.g. {thumbnail = 90})"
  type        = map(number)
  default     = {}
}

variable "expiration_days_by_prefix" {
  description = "Objects whose key starts with KEY expire after this many days (e.g. {\"uploads/\" = 1})"
  type        = map(number)
  default     = {}
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key; null uses S3-managed keys (SSE-S3)"
  type        = string
  default     = null
}

variable "require_tls" {
  description = "Deny every request not made over TLS"
  type        = bool
  default     = true
}
