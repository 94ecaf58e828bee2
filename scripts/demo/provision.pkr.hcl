# The second build of scripts/demo.sh: the simulated VM of examples/simulator/, now with
# communicator "ssh" and two provisioners. The simulator reports 127.0.0.1 as every VM's address
# and the demo runs a throw-away sshd on a loopback port, so the provisioners run on this machine,
# through the plugin's SSH communicator and Packer's provisioner RPC, exactly as they would on a
# guest. After them the builder powers the VM off through Prism and saves its disk as an image.
packer {
  required_plugins {
    nutanix = {
      version = ">= 1.4.0"
      source  = "github.com/nutanix-cloud-native/nutanix"
    }
  }
}

variable "nutanix_port" {
  type = number
}

variable "ssh_port" {
  type = number
}

variable "ssh_username" {
  type = string
}

variable "ssh_private_key_file" {
  type = string
}

# A directory on the "VM" (this machine) the provisioners write to.
variable "work_dir" {
  type = string
}

source "nutanix" "demo_ssh" {
  nutanix_endpoint = "127.0.0.1"
  nutanix_port     = var.nutanix_port
  nutanix_username = "admin"
  nutanix_password = "secret"
  nutanix_insecure = true # the simulator's certificate is self-signed

  cluster_name = "PE-Cluster-1"

  vm_disks {
    image_type        = "DISK_IMAGE"
    source_image_name = "ubuntu-22.04-server-cloudimg-amd64.img"
    disk_size_gb      = 20
  }

  vm_nics {
    subnet_name = "build-vlan-100"
  }

  image_name = "demo-provisioned-image"

  communicator         = "ssh"
  ssh_username         = var.ssh_username
  ssh_port             = var.ssh_port
  ssh_private_key_file = var.ssh_private_key_file
  ssh_timeout          = "1m"
}

build {
  sources = ["source.nutanix.demo_ssh"]

  provisioner "file" {
    content     = "uploaded by Packer's file provisioner through the nutanix builder's communicator\n"
    destination = "${var.work_dir}/hello.txt"
  }

  provisioner "shell" {
    inline = [
      "echo \"shell provisioner: running as $(whoami) on $(hostname), connected to ${build.Host}:${build.Port}\"",
      "cat ${var.work_dir}/hello.txt",
      "uname -srm",
    ]
  }
}
