# Values for building this example against the Prism Central simulator built into the plugin,
# with its WinRM test server playing the Windows guest:
#
#   packer-plugin-nutanix simulator --self-signed-tls --winrm-listen 127.0.0.1:5985 &
#   packer init . && packer build -var-file=simulator.pkrvars.hcl .
#
# The simulator listens on 127.0.0.1:9440 with a self-signed certificate and accepts admin /
# secret; its VMs report 127.0.0.1 (--vm-ip), where the WinRM server answers with the example's
# default winrm_password. Its inventory has no Windows ISO: its Rocky ISO stands in for one.
nutanix_endpoint = "127.0.0.1"
nutanix_insecure = true
nutanix_password = "secret"
cluster_name     = "PE-Cluster-1"
subnet_name      = "vm-network"
windows_iso      = "Rocky-9.4-x86_64-minimal.iso"
virtio_iso       = "virtio-win.iso"
