# The homolog stage on AWS: terraform -chdir=terraform apply -var-file=homolog.tfvars
stage                     = "homolog"
thumbnail_expiration_days = 365
log_retention_days        = 30
