output "endpoint_url" {
  description = "The API's base URL (null without the API Gateway)"
  value       = one(aws_api_gateway_stage.api[*].invoke_url)
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
  value       = module.queues["jobs"].url
}

output "function_names" {
  description = "Lambda function names by handler"
  value       = module.app.function_names
}

output "replicate_token_secret_arn" {
  description = "ARN of the Secrets Manager secret holding the Replicate token"
  value       = one(aws_secretsmanager_secret.replicate_token[*].arn)
}

output "fal_key_secret_arn" {
  description = "ARN of the Secrets Manager secret holding the fal key (null when fal is not deployed)"
  value       = one(aws_secretsmanager_secret.fal_key[*].arn)
}

output "api_gateway_responses" {
  description = "API Gateway's own responses, as the API's definition carries them"
  value       = local.gateway_responses
}
