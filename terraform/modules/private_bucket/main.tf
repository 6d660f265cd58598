resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_18:Server access logs need a second bucket per stage; CloudTrail data events are the audit path when wanted.
  #checkov:skip=CKV2_AWS_62:Notifications are per use: the media bucket's (to the thumbnailer) is set by the functions module; the artifacts bucket needs none.
  #checkov:skip=CKV_AWS_144:Cross-region replication doubles storage for media that versioning already protects from overwrite; a disaster-recovery decision, not a default.
  #checkov:skip=CKV_AWS_21:Versioning is the versioning variable: on for media, off for the artifacts bucket, whose objects are rebuilt from source each deploy.
  #checkov:skip=CKV_AWS_145:SSE-S3 (AES256) by default; kms_key_arn opts in to SSE-KMS, whose every read of a presigned link is a KMS request the signer must be allowed.
  bucket        = var.name
  force_destroy = var.force_destroy
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket                  = aws_s3_bucket.this.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.kms_key_arn == null ? "AES256" : "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = var.kms_key_arn != null
  }
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id
  versioning_configuration {
    status = var.versioning ? "Enabled" : "Suspended"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id
  # Rules on noncurrent versions need versioning's state first (the provider's advice).
  depends_on = [aws_s3_bucket_versioning.this]

  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }
  }

  dynamic "rule" {
    for_each = { for kind, days in var.expiration_days_by_kind : kind => days if days != null }
    content {
      id     = "expire-${rule.key}"
      status = "Enabled"
      filter {
        tag {
          key   = "kind"
          value = rule.key
        }
      }
      expiration {
        days = rule.value
      }
    }
  }

  dynamic "rule" {
    for_each = var.expiration_days_by_prefix
    content {
      id     = "expire-prefix-${trimsuffix(rule.key, "/")}"
      status = "Enabled"
      filter {
        prefix = rule.key
      }
      expiration {
        days = rule.value
      }
    }
  }
}

# TLS only.
resource "aws_s3_bucket_policy" "this" {
  count      = var.require_tls ? 1 : 0
  bucket     = aws_s3_bucket.this.id
  depends_on = [aws_s3_bucket_public_access_block.this]
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "DenyInsecureTransport"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:*"
      Resource  = [aws_s3_bucket.this.arn, "${aws_s3_bucket.this.arn}/*"]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
  })
}
