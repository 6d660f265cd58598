# Least privilege for the functions' role (Chalice's generated policy, which
# allows sqs:* actions on "*", is dropped by tools/package_terraform.py).
# The policy is created before the functions (the generated module makes them
# depend on it), so nothing here may refer to a function.
data "aws_iam_policy_document" "functions" {
  # Read only when the functions exist (the policy is counted with them).
  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [for arn in module.app.log_group_arns : "${arn}:*"]
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
    sid = "MediaObjects"
    # GetObjectTagging: re-emitting a lost S3 event copies the original onto
    # itself with TaggingDirective=COPY, which reads the source's tags.
    actions = [
      "s3:GetObject", "s3:PutObject", "s3:GetObjectTagging", "s3:PutObjectTagging",
      "s3:AbortMultipartUpload",
    ]
    resources = ["${module.media_bucket.arn}/*"]
  }

  statement {
    sid       = "MediaBucket"
    actions   = ["s3:ListBucket"]
    resources = [module.media_bucket.arn]
  }

  statement {
    sid = "Queues"
    actions = [
      "sqs:SendMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage", "sqs:DeleteMessage",
      "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility",
    ]
    resources = [for queue in module.queues : queue.arn]
  }

  statement {
    sid       = "ThumbnailerFailures"
    actions   = ["sqs:SendMessage"]
    resources = aws_sqs_queue.thumbnailer_failures[*].arn
  }

  statement {
    sid       = "ReplicateToken"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = aws_secretsmanager_secret.replicate_token[*].arn
  }

  # X-Ray's PutTraceSegments/PutTelemetryRecords take no resource: "*" is the only value.
  statement {
    sid       = "Tracing"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }
}
