# Least privilege for the functions' role (Chalice's generated policy, which
# allows sqs:* actions on "*", is dropped by tools/package_terraform.py).
data "aws_iam_policy_document" "functions" {
  # Read only when the functions exist (the policy is counted with them).
  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [for group in aws_cloudwatch_log_group.functions : "${group.arn}:*"]
  }

  statement {
    sid = "Tables"
    actions = [
      "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query",
      "dynamodb:DescribeTable",
    ]
    resources = flatten([for table in module.tables : [table.arn, "${table.arn}/index/*"]])
  }

  statement {
    sid       = "MediaObjects"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:PutObjectTagging", "s3:AbortMultipartUpload"]
    resources = ["${module.media_bucket.arn}/*"]
  }

  statement {
    sid       = "MediaBucket"
    actions   = ["s3:ListBucket"]
    resources = [module.media_bucket.arn]
  }

  statement {
    sid = "JobsQueue"
    actions = [
      "sqs:SendMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage", "sqs:DeleteMessage",
      "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility",
    ]
    resources = [module.jobs_queue.arn]
  }

  statement {
    sid       = "ThumbnailerFailures"
    actions   = ["sqs:SendMessage"]
    resources = aws_sqs_queue.thumbnailer_failures[*].arn
  }

  # X-Ray's PutTraceSegments/PutTelemetryRecords take no resource: "*" is the only value.
  statement {
    sid       = "Tracing"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "functions" {
  count  = var.enable_functions ? 1 : 0
  name   = "${local.prefix}-functions"
  role   = module.app.role_name
  policy = data.aws_iam_policy_document.functions.json
}
