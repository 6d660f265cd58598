module "service" {
  source = "../modules/service"

  chalice_config  = jsondecode(file("${path.root}/../../.chalice/config.json"))
  media_layer_zip = "${path.root}/../../build/media-layer.zip"
  resources       = jsondecode(file("${path.root}/../../chalicelib/resources.json"))
  stage           = var.stage
  # The local stack's name (chalicelib/resources.py): the emulator has one account.
  media_bucket_name         = coalesce(var.media_bucket_name, "vsl-media-${var.stage}-media")
  thumbnail_expiration_days = var.thumbnail_expiration_days
  log_retention_days        = var.log_retention_days
  enable_functions          = var.enable_functions
  enable_api_gateway        = var.enable_api_gateway
  force_destroy_buckets     = true
  replicate_api_token       = var.replicate_api_token
  fal_key                   = var.fal_key
  # No 7-day hold on a deleted secret: every test run applies and destroys.
  secret_recovery_window_days = 0
  # The emulator serves plain HTTP, and it enforces bucket policies.
  require_tls = false
  # The emulator has no X-Ray.
  tracing_mode = "PassThrough"
  # Every test run applies and destroys.
  deletion_protection = false
}
