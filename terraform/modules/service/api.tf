# The REST API's stage (Chalice generates the API and its deployment), with
# access and execution logs, tracing and throttling.
locals {
  enable_api = var.enable_functions && var.enable_api_gateway
}

resource "aws_cloudwatch_log_group" "api_access" {
  #checkov:skip=CKV_AWS_158:CloudWatch encrypts log data at rest; the access log holds request metadata only.
  #checkov:skip=CKV_AWS_338:Retention is the log_retention_days variable (30 by default): operational logs, not an audit trail.
  count = local.enable_api ? 1 : 0

  name              = "/aws/apigateway/${local.prefix}-access"
  retention_in_days = var.log_retention_days
}

# Where API Gateway writes the stage's execution (error) logs: created here, with
# a retention, before the stage (API Gateway's own group would keep them forever).
resource "aws_cloudwatch_log_group" "api_execution" {
  #checkov:skip=CKV_AWS_158:CloudWatch encrypts log data at rest; execution logs at ERROR level hold no request bodies (data_trace_enabled is off).
  #checkov:skip=CKV_AWS_338:Retention is the log_retention_days variable (30 by default): operational logs, not an audit trail.
  count = local.enable_api ? 1 : 0

  name              = "API-Gateway-Execution-Logs_${module.app.rest_api_id}/${var.stage}"
  retention_in_days = var.log_retention_days
}

resource "aws_api_gateway_stage" "api" {
  #checkov:skip=CKV_AWS_120:No API Gateway cache: every response is per caller and per job state.
  #checkov:skip=CKV2_AWS_51:A public API authenticated by API keys in the app, not by client certificates.
  #checkov:skip=CKV2_AWS_29:WAF is an account or edge decision outside this module; the stage throttles and the app rate-limits per user.
  #checkov:skip=CKV2_AWS_4:aws_api_gateway_method_settings.all sets logging_level ERROR on */* of this stage; in a plan checkov loses the reference it follows.
  count = local.enable_api ? 1 : 0

  rest_api_id          = module.app.rest_api_id
  deployment_id        = module.app.deployment_id
  stage_name           = var.stage
  xray_tracing_enabled = var.tracing_mode == "Active"

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.api_access[0].arn
    format = jsonencode({
      requestId = "$context.requestId", ip = "$context.identity.sourceIp",
      time      = "$context.requestTime", method = "$context.httpMethod",
      path      = "$context.resourcePath", status = "$context.status",
      latencyMs = "$context.responseLatency", error = "$context.integration.error"
    })
  }

  # Logging to CloudWatch needs the account's API Gateway CloudWatch role:
  # without it AWS refuses the stage. Its execution log group exists first.
  depends_on = [aws_api_gateway_account.this, aws_cloudwatch_log_group.api_execution]
}

resource "aws_api_gateway_method_settings" "all" {
  #checkov:skip=CKV_AWS_225:No API Gateway caching, so nothing cached to encrypt.
  count = local.enable_api ? 1 : 0

  rest_api_id = module.app.rest_api_id
  stage_name  = aws_api_gateway_stage.api[0].stage_name
  method_path = "*/*"

  settings {
    metrics_enabled        = var.api_detailed_metrics # per method: billed as custom metrics
    logging_level          = "ERROR"
    data_trace_enabled     = false # full requests would log API keys
    throttling_rate_limit  = var.api_throttling_rate_limit
    throttling_burst_limit = var.api_throttling_burst_limit
  }
}

# One setting per account and region: the role API Gateway logs with. Every
# stage in the region that logs to CloudWatch uses it.
resource "aws_api_gateway_account" "this" {
  count = local.enable_api && var.manage_api_gateway_account ? 1 : 0

  cloudwatch_role_arn = aws_iam_role.api_gateway_cloudwatch[0].arn
  # AWS checks that the role may write to CloudWatch Logs.
  depends_on = [aws_iam_role_policy_attachment.api_gateway_cloudwatch]
}

resource "aws_iam_role" "api_gateway_cloudwatch" {
  count = local.enable_api && var.manage_api_gateway_account ? 1 : 0

  name = "${local.prefix}-apigateway-cloudwatch"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "apigateway.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy_attachment" "api_gateway_cloudwatch" {
  count = local.enable_api && var.manage_api_gateway_account ? 1 : 0

  role       = aws_iam_role.api_gateway_cloudwatch[0].name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
}

# API Gateway's own answers in the documented error format: an unknown route is
# 404 NOT_FOUND (API Gateway says 403 "Missing Authentication Token" by default),
# and any other error of the gateway itself keeps {"error", "details", "code"}.
# Browsers on the stage's CORS origin may read them too. They are part of the
# API's definition (the functions module puts them in its body), never separate
# resources, which would race each redeployment of an API defined by a body.
locals {
  # The origin the app allows (chalicelib/config.py reads the same two places).
  cors_origin = lookup(var.function_environment, "VSL_CORS_ORIGIN", lookup(local.settings, "cors_origin", ""))
  gateway_response_texts = {
    MISSING_AUTHENTICATION_TOKEN = { status = 404, error = "Not found", code = "NOT_FOUND", details = "No such route." }
    THROTTLED                    = { status = 429, error = "Rate limit exceeded", code = "RATE_LIMIT_EXCEEDED", details = "The stage's request rate is exceeded; retry shortly." }
    DEFAULT_4XX                  = { status = null, error = "Bad request", code = "VALIDATION_ERROR", details = "$context.error.message" }
    DEFAULT_5XX                  = { status = null, error = "Service temporarily unavailable", code = "SERVICE_UNAVAILABLE", details = "$context.error.message" }
  }
  gateway_responses = { for type, text in local.gateway_response_texts : type => merge(
    text.status == null ? {} : { statusCode = text.status },
    { responseTemplates = { "application/json" = jsonencode({ error = text.error, details = text.details, code = text.code }) } },
    local.cors_origin == "" ? {} : {
      responseParameters = { "gatewayresponse.header.Access-Control-Allow-Origin" = "'${local.cors_origin}'" }
    },
  ) }
}
