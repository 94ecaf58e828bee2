# expect: this template cannot be built (nothing was created)
# expect: vm_nics[0].skip_ip_assignment: not supported with the Prism v3 API this version uses
# Valid options that this version cannot carry out: refused at Prepare, so `packer validate`
# says it before anything is created.
packer {
  required_plugins {
    nutanix = {
      version = ">= 0.0.1"
      source  = "github.com/nutanix-cloud-native/nutanix"
    }
  }
}

source "nutanix" "unbuildable" {
  nutanix_username = "admin"
  nutanix_password = "nutanix/4u"
  nutanix_endpoint = "prism-central.example.com"
  nutanix_insecure = true
  cluster_name     = "cluster-01"
  communicator     = "none"

  vm_disks {
    image_type        = "DISK_IMAGE"
    source_image_name = "centos-9"
  }

  vm_nics {
    subnet_name        = "vlan-0"
    skip_ip_assignment = true
  }
}

build {
  sources = ["source.nutanix.unbuildable"]
}
