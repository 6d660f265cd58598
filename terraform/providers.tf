provider "aws" {
  region = var.region
  default_tags {
    tags = {
      service = "vsl-media"
      stage   = var.stage
    }
  }
}
