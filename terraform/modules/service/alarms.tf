# What means trouble, to an SNS topic: the stage's own (SERVICE-STAGE-alarms,
# with an optional email subscription) unless alarm_topic_arn names yours.
# Each alarm is a job or request lost or failing, or work piling up; a failure
# that a retry may still mend (an SQS redelivery, an S3 event's second attempt)
# alarms only once the retries are spent, in a dead-letter or failure queue.
locals {
  alarm_topic_arn = coalesce(var.alarm_topic_arn, one(aws_sns_topic.alarms[*].arn))
  alarm_actions   = [local.alarm_topic_arn]
  # Messages waiting in a queue nothing consumes: jobs that failed every retry,
  # and S3 events the thumbnailer failed three times.
  dead_letter_queues = merge(
    { for name, queue in module.queues : "${name}-dlq" => queue.dead_letter_name },
    var.enable_functions ? { thumbnailer-failures = aws_sqs_queue.thumbnailer_failures[0].name } : {},
  )
  # Errors of the functions nothing retries: the API's (each one a 500 someone
  # saw) at once; the sweep's when it failed in each of three periods (a failed
  # sweep is redone the next minute). The queue consumers and the thumbnailer
  # are retried: their lost work shows in the queues above.
  error_alarms = var.enable_functions ? {
    api_handler = { function = module.app.function_names.api_handler, periods = 1 }
    sweep_jobs  = { function = module.app.function_names.sweep_jobs, periods = 3 }
  } : {}
  throttle_alarms = var.enable_functions ? module.app.function_names : {}
}

resource "aws_sns_topic" "alarms" {
  #checkov:skip=CKV_AWS_26:CloudWatch alarms cannot publish to a topic encrypted with the AWS-managed key (its key policy cannot let CloudWatch in); alarm messages carry alarm names and states only.
  count = var.alarm_topic_arn == null ? 1 : 0

  name = "${local.prefix}-alarms"
}

resource "aws_sns_topic_subscription" "alarm_email" {
  count = var.alarm_email == null ? 0 : 1

  topic_arn = local.alarm_topic_arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

# Per queue: messages in a dead-letter or failure queue (any), and the age of the
# oldest message of a working queue.
locals {
  queue_alarms = merge(
    { for key, queue in local.dead_letter_queues : key => {
      name      = "${key}-not-empty", queue = queue, metric = "ApproximateNumberOfMessagesVisible",
      threshold = 0, description = "Messages in ${queue}: work that failed every retry"
    } },
    { for key, queue in module.queues : "${key}-oldest-message" => {
      name        = "${key}-oldest-message", queue = queue.name, metric = "ApproximateAgeOfOldestMessage",
      threshold   = var.queue_age_alarm_s,
      description = "A message in ${queue.name} waits for over ${var.queue_age_alarm_s} s: its consumer is stuck, failing or outpaced"
    } },
  )
  function_alarms = merge(
    { for key, alarm in local.error_alarms : "${key}-Errors" => {
      function    = alarm.function, metric = "Errors", periods = alarm.periods,
      description = "Errors of ${alarm.function} in ${alarm.periods} period(s) in a row"
    } },
    { for key, function in local.throttle_alarms : "${key}-Throttles" => {
      function    = function, metric = "Throttles", periods = 1,
      description = "Throttles of ${function}: the account's concurrency is exhausted"
    } },
  )
}

moved {
  from = aws_cloudwatch_metric_alarm.dead_letters
  to   = aws_cloudwatch_metric_alarm.queues
}

resource "aws_cloudwatch_metric_alarm" "queues" {
  for_each = local.queue_alarms

  alarm_name          = "${local.prefix}-${each.value.name}"
  alarm_description   = each.value.description
  namespace           = "AWS/SQS"
  metric_name         = each.value.metric
  dimensions          = { QueueName = each.value.queue }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value.threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "functions" {
  for_each = local.function_alarms

  alarm_name          = "${local.prefix}-${each.key}"
  alarm_description   = each.value.description
  namespace           = "AWS/Lambda"
  metric_name         = each.value.metric
  dimensions          = { FunctionName = each.value.function }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = each.value.periods
  datapoints_to_alarm = each.value.periods
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
