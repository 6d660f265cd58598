output "media_bucket" {
  description = "Media bucket name"
  value       = module.service.media_bucket
}

output "table_names" {
  description = "DynamoDB tables by logical name"
  value       = module.service.table_names
}

output "jobs_queue_url" {
  description = "URL of the jobs queue"
  value       = module.service.jobs_queue_url
}

output "fal_key_secret_arn" {
  description = "Secret holding the fal key (null when fal_key is empty)"
  value       = module.service.fal_key_secret_arn
}
