# Run by the second powershell provisioner of winrm.pkr.hcl.
Write-Output "script sees $env:FROM_SCRIPT"
exit 0
