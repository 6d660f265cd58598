# What means trouble, to the SNS topic given in alarm_topic_arn. Every alarm
# fires on the first occurrence: each of these is a job or request lost or
# failed that someone should look at.
locals {
  alarm_actions = var.alarm_topic_arn == null ? [] : [var.alarm_topic_arn]
  # Messages waiting in a queue nothing consumes: jobs that failed every retry,
  # and S3 events the thumbnailer failed three times.
  dead_letter_queues = merge(
    { for name, queue in module.queues : "${name}-dlq" => queue.dead_letter_name },
    var.enable_functions ? { thumbnailer-failures = aws_sqs_queue.thumbnailer_failures[0].name } : {},
  )
  function_alarms = var.enable_functions ? {
    for pair in setproduct(keys(module.app.function_names), ["Errors", "Throttles"]) :
    "${pair[0]}-${pair[1]}" => { function = module.app.function_names[pair[0]], metric = pair[1] }
  } : {}
}

resource "aws_cloudwatch_metric_alarm" "dead_letters" {
  for_each = local.dead_letter_queues

  alarm_name          = "${local.prefix}-${each.key}-not-empty"
  alarm_description   = "Messages in ${each.value}: work that failed every retry"
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = each.value }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "functions" {
  for_each = local.function_alarms

  alarm_name          = "${local.prefix}-${each.key}"
  alarm_description   = "${each.value.metric} of ${each.value.function}"
  namespace           = "AWS/Lambda"
  metric_name         = each.value.metric
  dimensions          = { FunctionName = each.value.function }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "api_5xx" {
  count = local.enable_api ? 1 : 0

  alarm_name          = "${local.prefix}-api-5xx"
  alarm_description   = "The API answered 5xx: Replicate failing or throttling (502, 503), a dependency down, or a crash"
  namespace           = "AWS/ApiGateway"
  metric_name         = "5XXError"
  dimensions          = { ApiName = module.app.rest_api_name, Stage = aws_api_gateway_stage.api[0].stage_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}
