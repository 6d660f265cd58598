variable "name" {
  description = "Table name"
  type        = string
}

variable "hash_key" {
  description = "Partition key attribute (a string)"
  type        = string
}

variable "range_key" {
  description = "Sort key attribute (a string), or null"
  type        = string
  default     = null
}

variable "indexes" {
  description = "Global secondary indexes by name: hash_key, optional range_key, and what each projects (ALL, KEYS_ONLY, or INCLUDE with attributes): only what its queries read"
  type = map(object({
    hash_key   = string
    range_key  = optional(string)
    projection = string
    attributes = optional(list(string))
  }))
  default = {}
  validation {
    condition     = alltrue([for index in values(var.indexes) : contains(["ALL", "KEYS_ONLY", "INCLUDE"], index.projection) && (index.projection == "INCLUDE") == (index.attributes != null)])
    error_message = "Each index projects ALL, KEYS_ONLY, or INCLUDE with its attributes."
  }
}

variable "ttl_attribute" {
  description = "Attribute holding the expiry time (Unix seconds), or null for no TTL"
  type        = string
  default     = null
}

variable "point_in_time_recovery" {
  description = "Keep continuous backups"
  type        = bool
  default     = true
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key for encryption at rest; null uses the AWS-managed key"
  type        = string
  default     = null
}

variable "deletion_protection" {
  description = "Refuse to delete the table"
  type        = bool
  default     = false
}
