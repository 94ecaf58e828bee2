# End-to-end: communicator "ssh" with no password, no key file and no agent, so the plugin makes
# a temporary key pair and puts its public half in cloud-init user_data. The test reads the
# user_data the simulator received, authorizes that key on its loopback sshd (standing in for
# cloud-init), and the build must then connect with the key. The provisioners save the hook
# data's SSHPublicKey / SSHPrivateKey for the test to check. Run by tests/e2e_build.rs.
packer {
  required_plugins {
    nutanix = {
      version = ">= 0.0.1"
      source  = "github.com/nutanix-cloud-native/nutanix"
    }
  }
}

variable "endpoint" {
  type = string
}

variable "port" {
  type = number
}

variable "ca_cert" {
  type = string
}

variable "output_directory" {
  type = string
}

variable "ssh_port" {
  type = number
}

variable "ssh_user" {
  type = string
}

# Where the provisioners write on the "VM" (this machine, through the loopback sshd).
variable "work_dir" {
  type = string
}

# Empty: Packer's default (rsa).
variable "key_type" {
  type    = string
  default = ""
}

# false: no user_data, so the plugin writes a minimal #cloud-config.
variable "with_user_data" {
  type    = bool
  default = true
}

# Non-empty: this user_data instead of the template's cloud-config (for the refusal test).
variable "user_data" {
  type    = string
  default = ""
}

source "nutanix" "tempkey" {
  nutanix_endpoint = var.endpoint
  nutanix_port     = var.port
  nutanix_username = "admin"
  nutanix_password = "secret"
  nutanix_ca_cert  = var.ca_cert

  cluster_name = "PE-Cluster-1"
  vm_name      = "e2e-tempkey"
  image_name   = "e2e-tempkey-image"

  vm_disks {
    image_type        = "DISK_IMAGE"
    source_image_name = "ubuntu-22.04-server-cloudimg-amd64.img"
  }

  vm_nics {
    subnet_name = "vm-network"
  }

  os_type   = var.with_user_data || var.user_data != "" ? "Linux" : null
  user_data = var.user_data != "" ? var.user_data : (var.with_user_data ? local.user_data : null)

  communicator            = "ssh"
  ssh_username            = var.ssh_user
  ssh_port                = var.ssh_port
  ssh_timeout             = "2m"
  temporary_key_pair_type = var.key_type == "" ? null : var.key_type

  ip_settle_timeout = "1s"

  shutdown_command = "true"
  shutdown_timeout = "2s"
  output_directory = var.output_directory
}

locals {
  user_data = <<-EOF
    #cloud-config
    # Written by the e2e template: the plugin must keep all of this.
    users:
      - default
      - name: ${var.ssh_user}
        shell: /bin/bash
    ssh_authorized_keys:
      - ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQTemplateKey e2e@template
    package_upgrade: no
  EOF
}

build {
  sources = ["source.nutanix.tempkey"]

  provisioner "file" {
    content     = build.SSHPublicKey
    destination = "${var.work_dir}/public_key"
  }

  provisioner "file" {
    content     = build.SSHPrivateKey
    destination = "${var.work_dir}/private_key"
  }

  provisioner "shell" {
    inline = ["echo connected with the temporary key as $(whoami)"]
  }
}
