# A role per function, each with exactly what its code uses: permissions.json
# beside this file is the one list (the local stack gives each function an IAM
# user from the same file, local/iam.py, and checks every call against the
# policies rendered here). The roles are made by the functions module
# (tools/package_terraform.py); their policies are rendered here. A policy is
# created before its function, so nothing here may refer to a function.
locals {
  permissions = jsondecode(file("${path.module}/permissions.json"))

  # What a reference in permissions.json names. Index ARNs are TABLE_ARN/index/NAME.
  resource_arns = merge(
    { for name, table in module.tables : "table:${name}" => table.arn },
    { for name, queue in module.queues : "queue:${name}" => queue.arn },
    {
      "bucket:media"               = module.media_bucket.arn
      "objects:media"              = "${module.media_bucket.arn}/*"
      "queue:thumbnailer-failures" = one(aws_sqs_queue.thumbnailer_failures[*].arn)
      "secret:replicate-api-token" = one(aws_secretsmanager_secret.replicate_token[*].arn)
      "secret:fal-key"             = one(aws_secretsmanager_secret.fal_key[*].arn)
      "*"                          = "*"
    },
  )
  # What a stage may not have: fal's key where fal is not deployed. A statement on
  # it is left out of the roles (a policy naming no resource is refused by IAM).
  absent_references = local.fal_deployed ? [] : ["secret:fal-key"]

  # Lambda's own use of every role (logs to the function's own group, X-Ray
  # traces, whose actions take no resource) and then the function's code's.
  role_policies = {
    for function, statements in local.permissions.functions : function => jsonencode({
      Version = "2012-10-17"
      Statement = [for statement in concat(local.permissions.runtime, statements) : {
        Sid    = statement.sid
        Effect = "Allow"
        Action = statement.actions
        Resource = [for reference in statement.resources : (
          reference == "log-group:own" ? "${lookup(module.app.log_group_arns, function, "")}:*" :
          length(split("/index/", reference)) == 2 ?
          "${local.resource_arns[split("/index/", reference)[0]]}/index/${split("/index/", reference)[1]}" :
          local.resource_arns[reference]
        )]
      } if length(setintersection(statement.resources, local.absent_references)) == 0]
    })
  }
}
