# Driven by tests/go_fidelity.rs: the real Go packer-plugin-nutanix v1.2.1 (Prism v3 line)
# building against the simulator. communicator = "none" so no sshd is needed.
variable "port" {
  type = number
}

source "nutanix" "fidelity" {
  nutanix_endpoint = "127.0.0.1"
  nutanix_port     = var.port
  nutanix_username = "admin"
  nutanix_password = "secret"
  nutanix_insecure = true
  cluster_name     = "PE-Cluster-1"
  os_type          = "Linux"
  vm_name          = "go-fidelity-vm"
  cpu              = 2
  memory_mb        = 2048
  vm_disks {
    image_type        = "DISK_IMAGE"
    source_image_name = "ubuntu-22.04-server-cloudimg-amd64.img"
    disk_size_gb      = 40
  }
  vm_disks {
    image_type   = "DISK"
    disk_size_gb = 10
  }
  vm_disks {
    image_type        = "ISO_IMAGE"
    source_image_name = "virtio-win.iso"
  }
  vm_nics {
    subnet_name = "build-vlan-100"
  }
  cd_content = {
    "ks.cfg" = "text\n"
  }
  cd_label     = "OEMDRV"
  communicator = "none"
  image_name   = "go-fidelity-image"
  vm_categories {
    key   = "Environment"
    value = "Dev"
  }
  image_categories {
    key   = "OSType"
    value = "ubuntu-22.04"
  }
  project          = "dev-team"
  ip_wait_timeout  = "2m"
  shutdown_timeout = "2m"
  user_data        = "I2Nsb3VkLWNvbmZpZwp1c2VyczogW10K"
  # The Go plugin's own OVA lookup (v3 /groups) and its raw v4 template call.
  ova {
    export = true
    name   = "go-fidelity-ova"
  }
  template {
    create = true
    name   = "go-fidelity-template"
  }
}

build {
  sources = ["source.nutanix.fidelity"]
}
