module "service" {
  source = "./modules/service"

  chalice_config            = jsondecode(file("${path.root}/../.chalice/config.json"))
  media_layer_zip           = "${path.root}/../build/media-layer.zip"
  resources                 = jsondecode(file("${path.root}/../chalicelib/resources.json"))
  stage                     = var.stage
  media_bucket_name         = var.media_bucket_name
  original_expiration_days  = var.original_expiration_days
  thumbnail_expiration_days = var.thumbnail_expiration_days
  log_retention_days        = var.log_retention_days
  replicate_api_token       = var.replicate_api_token
  replicate_base_url        = var.replicate_base_url
  fal_key                   = var.fal_key
  fal_base_url              = var.fal_base_url
  function_environment      = var.function_environment

  alarm_topic_arn            = var.alarm_topic_arn
  alarm_email                = var.alarm_email
  manage_api_gateway_account = var.manage_api_gateway_account
  api_detailed_metrics       = var.api_detailed_metrics
  deletion_protection        = var.deletion_protection

  processor_max_concurrency     = var.processor_max_concurrency
  notifications_max_concurrency = var.notifications_max_concurrency
  api_throttling_rate_limit     = var.api_throttling_rate_limit
  api_throttling_burst_limit    = var.api_throttling_burst_limit
  max_output_mb                 = var.max_output_mb
  tracing_mode                  = var.tracing_mode

  secret_recovery_window_days = var.secret_recovery_window_days
}
