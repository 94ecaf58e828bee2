# expect: this template cannot be built (nothing was created)
# expect: os_type = "Windows" uses sysprep instead
# SSH without credentials on a sysprep (Windows) VM: nothing can deliver the temporary key.
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
  ssh_username     = "Administrator"
  os_type          = "Windows"
  user_data        = "<unattend/>"

  vm_disks {
    image_type        = "DISK_IMAGE"
    source_image_name = "windows-2022"
  }

  vm_nics {
    subnet_name = "vlan-0"
  }
}

build {
  sources = ["source.nutanix.unbuildable"]
}
