variable "name" {
  description = "Queue name; its dead-letter queue is named NAME-dlq"
  type        = string
}

variable "visibility_timeout_seconds" {
  description = "How long a received message stays hidden (at least 6x the consumer's timeout)"
  type        = number
}

variable "max_receive_count" {
  description = "Receives before a message moves to the dead-letter queue"
  type        = number
}

variable "message_retention_seconds" {
  description = "How long an unconsumed message is kept"
  type        = number
}

variable "dead_letter_retention_seconds" {
  description = "How long a dead-lettered message is kept"
  type        = number
}

variable "kms_key_id" {
  description = "Customer-managed KMS key; null uses SQS-managed encryption"
  type        = string
  default     = null
}
