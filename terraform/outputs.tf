output "endpoint_url" {
  description = "The API's base URL"
  value       = module.service.endpoint_url
}

output "media_bucket" {
  description = "Media bucket name"
  value       = module.service.media_bucket
}

output "table_names" {
  description = "DynamoDB tables by logical name"
  value       = module.service.table_names
}

output "function_names" {
  description = "Lambda function names by handler"
  value       = module.service.function_names
}

output "replicate_token_secret_arn" {
  description = "Secrets Manager secret holding the Replicate token"
  value       = module.service.replicate_token_secret_arn
}

output "fal_key_secret_arn" {
  description = "Secrets Manager secret holding the fal key (null when fal is not deployed)"
  value       = module.service.fal_key_secret_arn
}
