# Names and settings come from var.resources (the roots pass chalicelib/resources.json,
# the file the app and the local stack read too: the three cannot drift).
locals {
  spec     = var.resources
  settings = local.spec.stages[var.stage]
  prefix   = "${local.spec.service}-${var.stage}"
  # The functions' timeouts live in Chalice's config, which builds them.
  chalice           = var.chalice_config
  processor_timeout = local.chalice.lambda_functions.process_job_event.lambda_timeout
  # AWS's advice for an SQS event source: at least six times the function's
  # timeout. A stage may override it (the local stage does, so tests see a
  # failed receive come back within seconds; no Lambda timeout applies there).
  queue_visibility_timeout = lookup(local.settings, "queue_visibility_timeout_s", 6 * local.processor_timeout)
  # What the processor can move in its timeout: it fetches a job's outputs, then
  # uploads them, at about this rate end to end (a conservative figure for a
  # 2048 MB function, internet to S3), in three quarters of its timeout (the
  # rest: probe, preview, Replicate, DynamoDB). Never above what one S3
  # CopyObject copies (5 GiB: reuse copies each object in one request).
  processor_mb_per_s    = 20
  max_movable_output_mb = min(floor(0.75 * local.processor_timeout * local.processor_mb_per_s), 5120)

  account_id = data.aws_caller_identity.current.account_id
  # Bucket names are global: the account id keeps two deployers' apart.
  media_bucket_name = coalesce(var.media_bucket_name, "${local.prefix}-${local.account_id}-${local.spec.bucket.suffix}")
  media_layer_zip   = var.media_layer_zip
  # fal is deployed with its key (whether it is, is no secret: it decides what exists).
  fal_deployed = var.enable_functions && nonsensitive(var.fal_key != "")
  # Days each kind of stored object is kept (null: kept). The bucket's rules expire
  # by the object's kind tag, and the functions tag only the kinds a rule expires
  # (S3 bills every tag every month).
  expiration_days_by_kind = {
    original  = var.original_expiration_days
    output    = var.original_expiration_days
    thumbnail = var.thumbnail_expiration_days
  }
  expiring_kinds = sort([for kind, days in local.expiration_days_by_kind : kind if days != null])

  function_environment = merge(
    {
      VSL_STAGE        = var.stage
      VSL_MEDIA_BUCKET = module.media_bucket.id
      # The job fails with a clear error above it; /tmp is sized from it.
      VSL_MAX_OUTPUT_BYTES = tostring(var.max_output_mb * 1024 * 1024)
      VSL_EXPIRING_KINDS   = join(",", local.expiring_kinds)
    },
    var.enable_functions ? { REPLICATE_API_TOKEN_SECRET_ARN = aws_secretsmanager_secret.replicate_token[0].arn } : {},
    var.replicate_base_url == "" ? {} : { REPLICATE_BASE_URL = var.replicate_base_url },
    local.fal_deployed ? { FAL_KEY_SECRET_ARN = aws_secretsmanager_secret.fal_key[0].arn } : {},
    var.fal_base_url == "" ? {} : { FAL_BASE_URL = var.fal_base_url },
    var.function_environment,
  )
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

module "tables" {
  source   = "../dynamodb_table"
  for_each = local.spec.tables

  name          = "${local.prefix}-${each.key}"
  hash_key      = each.value.hash_key
  range_key     = each.value.range_key
  ttl_attribute = each.value.ttl_attribute
  indexes       = each.value.indexes
  # A destroy (or a replacing change) must be deliberate: turn it off first.
  deletion_protection = var.deletion_protection
}

# The jobs queue (prediction events, queued starts) and the notifications queue
# (job events, webhook deliveries), each with its dead-letter queue.
module "queues" {
  source   = "../sqs_queue"
  for_each = local.spec.queues

  name                          = "${local.prefix}-${each.key}"
  visibility_timeout_seconds    = local.queue_visibility_timeout
  max_receive_count             = each.value.max_receive_count
  message_retention_seconds     = each.value.message_retention_s
  dead_letter_retention_seconds = each.value.dlq_retention_s
}

module "media_bucket" {
  source = "../private_bucket"

  name                    = local.media_bucket_name
  force_destroy           = var.force_destroy_buckets
  require_tls             = var.require_tls
  expiration_days_by_kind = local.expiration_days_by_kind
  # Clients' uploads (input images) live a day.
  expiration_days_by_prefix = {
    (local.spec.bucket.uploads.prefix) = local.spec.bucket.uploads.expiration_days
  }
}

# Browsers (the playground) PUT uploads straight into the bucket with the presigned
# link the API hands out. The link is the authorization, whatever the page's origin;
# nothing else of the bucket is readable cross-origin (results load as media, not
# through fetch).
resource "aws_s3_bucket_cors_configuration" "media" {
  bucket = module.media_bucket.id
  cors_rule {
    allowed_methods = ["PUT"]
    allowed_origins = ["*"]
    allowed_headers = ["content-type"]
    max_age_seconds = 3600
  }
}

# Layers over 50 MB are published from S3.
module "artifacts_bucket" {
  source = "../private_bucket"
  count  = var.enable_functions ? 1 : 0

  name          = "${local.media_bucket_name}-artifacts"
  force_destroy = true
  versioning    = false
  require_tls   = var.require_tls
}

resource "aws_s3_object" "media_layer" {
  count = var.enable_functions ? 1 : 0

  bucket      = module.artifacts_bucket[0].id
  key         = "layers/media-${filemd5(local.media_layer_zip)}.zip"
  source      = local.media_layer_zip
  source_hash = filemd5(local.media_layer_zip)
}

resource "aws_lambda_layer_version" "media" {
  count = var.enable_functions ? 1 : 0

  layer_name          = "${local.prefix}-media"
  description         = "Pillow, PyAV, numpy for the processor and thumbnailer"
  s3_bucket           = aws_s3_object.media_layer[0].bucket
  s3_key              = aws_s3_object.media_layer[0].key
  source_code_hash    = filebase64sha256(local.media_layer_zip)
  compatible_runtimes = [module.app.runtime]
}

# The functions, generated by `chalice package` and post-processed by
# tools/package_terraform.py (`make package`).
module "app" {
  source = "../../../build/chalice"

  stage                   = var.stage
  name_prefix             = local.prefix
  jobs_queue_arn          = module.queues["jobs"].arn
  notifications_queue_arn = module.queues["notifications"].arn
  media_bucket_name       = module.media_bucket.id
  media_bucket_arn        = module.media_bucket.arn
  media_layer_arns        = aws_lambda_layer_version.media[*].arn
  environment             = local.function_environment
  enable_functions        = var.enable_functions
  enable_api_gateway      = var.enable_api_gateway
  tracing_mode            = var.tracing_mode
  log_retention_days      = var.log_retention_days
  # Each function and its SQS event source are created after its role's policy (iam.tf).
  role_policies = local.role_policies
  queue_max_concurrency = {
    process_job_event     = var.processor_max_concurrency
    deliver_notifications = var.notifications_max_concurrency
  }
  gateway_responses = local.gateway_responses
  # The largest accepted output, the thumbnail and some room to spare.
  media_ephemeral_storage_mb = var.max_output_mb + 512
}

# S3 invokes the thumbnailer asynchronously: two retries, then the event lands
# here instead of being dropped.
resource "aws_sqs_queue" "thumbnailer_failures" {
  count = var.enable_functions ? 1 : 0

  name                      = "${local.prefix}-thumbnailer-failures"
  message_retention_seconds = local.spec.queues.jobs.dlq_retention_s
  sqs_managed_sse_enabled   = true
}

resource "aws_lambda_function_event_invoke_config" "thumbnailer" {
  count = var.enable_functions ? 1 : 0

  # The function's ARN: this waits for the function, which waits for the
  # policy that lets it send to the failure queue (AWS checks that here).
  function_name                = module.app.thumbnailer_arn
  maximum_retry_attempts       = 2
  maximum_event_age_in_seconds = 21600
  destination_config {
    on_failure {
      destination = aws_sqs_queue.thumbnailer_failures[0].arn
    }
  }
}

# The Replicate token: in Secrets Manager, not in the functions' environment
# (which anyone allowed to read the function's configuration can see). The
# functions get its ARN and read it when first needed, then again once their
# copy is five minutes old (chalicelib/secrets.py): a new value applied here
# reaches every running function within that time.
resource "aws_secretsmanager_secret" "replicate_token" {
  #checkov:skip=CKV_AWS_149:The AWS-managed key encrypts it; a customer-managed key adds key policy work for one token.
  #checkov:skip=CKV2_AWS_57:Replicate tokens are rotated at Replicate; apply with the new value (TF_VAR_replicate_api_token) to store it.
  count = var.enable_functions ? 1 : 0

  name                    = "${local.prefix}/replicate-api-token"
  description             = "Replicate API token of ${local.prefix}"
  recovery_window_in_days = var.secret_recovery_window_days
}

resource "aws_secretsmanager_secret_version" "replicate_token" {
  count = var.enable_functions ? 1 : 0

  secret_id     = aws_secretsmanager_secret.replicate_token[0].id
  secret_string = var.replicate_api_token
}

# fal's key, as the Replicate token, where fal is deployed (var.fal_key set): the
# functions that call fal get the secret's ARN and a grant to read it
# (permissions.json's FalKey, left out of the roles without it: iam.tf).
resource "aws_secretsmanager_secret" "fal_key" {
  #checkov:skip=CKV_AWS_149:The AWS-managed key encrypts it; a customer-managed key adds key policy work for one key.
  #checkov:skip=CKV2_AWS_57:fal keys are rotated at fal; apply with the new value (TF_VAR_fal_key) to store it.
  count = local.fal_deployed ? 1 : 0

  name                    = "${local.prefix}/fal-key"
  description             = "fal.ai key of ${local.prefix}"
  recovery_window_in_days = var.secret_recovery_window_days
}

resource "aws_secretsmanager_secret_version" "fal_key" {
  count = local.fal_deployed ? 1 : 0

  secret_id     = aws_secretsmanager_secret.fal_key[0].id
  secret_string = var.fal_key
}
