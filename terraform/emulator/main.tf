module "service" {
  source = "../modules/service"

  stage                     = var.stage
  media_bucket_name         = var.media_bucket_name
  thumbnail_expiration_days = var.thumbnail_expiration_days
  log_retention_days        = var.log_retention_days
  enable_functions          = var.enable_functions
  enable_api_gateway        = var.enable_api_gateway
  force_destroy_buckets     = true
  # The emulator serves plain HTTP, and it enforces bucket policies.
  require_tls = false
  # The emulator has no X-Ray.
  tracing_mode = "PassThrough"
}
