output "name" {
  description = "Queue name"
  value       = aws_sqs_queue.this.name
}

output "arn" {
  description = "Queue ARN"
  value       = aws_sqs_queue.this.arn
}

output "url" {
  description = "Queue URL"
  value       = aws_sqs_queue.this.url
}

output "dead_letter_arn" {
  description = "Dead-letter queue ARN"
  value       = aws_sqs_queue.dead_letter.arn
}

output "dead_letter_name" {
  description = "Dead-letter queue name"
  value       = aws_sqs_queue.dead_letter.name
}
