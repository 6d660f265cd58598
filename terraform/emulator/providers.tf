# The local emulator (moto server): every service at one endpoint, test
# credentials, no account lookups. Used only by this root.
provider "aws" {
  region                      = "us-east-1"
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  s3_use_path_style           = true

  endpoints {
    apigateway     = var.emulator_url
    cloudwatch     = var.emulator_url
    dynamodb       = var.emulator_url
    events         = var.emulator_url
    iam            = var.emulator_url
    lambda         = var.emulator_url
    logs           = var.emulator_url
    s3             = var.emulator_url
    secretsmanager = var.emulator_url
    sns            = var.emulator_url
    sqs            = var.emulator_url
    sts            = var.emulator_url
  }
}
