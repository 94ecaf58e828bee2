# expect: this template cannot be built (nothing was created)
# expect: the temporary SSH public key cannot be added to user_data (user_data is a shell script
# expect: set ssh_password, ssh_private_key_file or ssh_agent_auth
# SSH without credentials gets a temporary key through cloud-init; a shell script cannot carry it.
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
  ssh_username     = "ubuntu"
  os_type          = "Linux"
  user_data        = "#!/bin/sh\necho hello\n"

  vm_disks {
    image_type        = "DISK_IMAGE"
    source_image_name = "ubuntu-22.04"
  }

  vm_nics {
    subnet_name = "vlan-0"
  }
}

build {
  sources = ["source.nutanix.unbuildable"]
}
