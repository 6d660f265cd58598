output "endpoint_url" {
  description = "The API's base URL (null without the API Gateway)"
  value       = module.app.endpoint_url
}

output "media_bucket" {
  description = "Media bucket name"
  value       = module.media_bucket.id
}

output "table_names" {
  description = "DynamoDB tables by logical name"
  value       = { for name, table in module.tables : name => table.name }
}

output "jobs_queue_url" {
  description = "URL of the jobs queue"
  value       = module.jobs_queue.url
}

output "function_names" {
  description = "Lambda function names by handler"
  value       = module.app.function_names
}
