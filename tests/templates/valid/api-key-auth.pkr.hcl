# Ours: authenticating with an API key (service account) through a reverse proxy that needs its own
# headers, trusting a private CA instead of disabling TLS checks; no communicator, so no NIC needed.
packer {
  required_plugins {
    nutanix = {
      version = ">= 0.0.1"
      source  = "github.com/nutanix-cloud-native/nutanix"
    }
  }
}

variable "nutanix_api_key" {
  type      = string
  default   = "example-api-key"
  sensitive = true
}

variable "cf_access_client_secret" {
  type      = string
  default   = "example-secret"
  sensitive = true
}

source "nutanix" "api-key" {
  nutanix_endpoint = "prism-central.example.com"
  nutanix_api_key  = var.nutanix_api_key
  nutanix_ca_cert  = "${path.root}/../files/ca.pem"
  nutanix_custom_headers = {
    "CF-Access-Client-Id"     = "example-client-id.access"
    "CF-Access-Client-Secret" = var.cf_access_client_secret
  }
  nutanix_transfer_timeout = 60

  cluster_name = "cluster-01"
  communicator = "none"

  vm_disks {
    image_type        = "DISK_IMAGE"
    source_image_name = "appliance-base"
  }

  image_name        = "appliance-{{timestamp}}"
  image_description = "appliance image, no provisioning"
}

build {
  sources = ["source.nutanix.api-key"]
}
