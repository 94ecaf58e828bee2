# Run once at the first logon (see autounattend.pkrtpl.xml): opens WinRM over HTTP on port 5985 with
# basic authentication so that Packer can provision the VM. Sysprep at the end of the build resets
# the machine; harden WinRM (HTTPS, no basic auth) in your own images.
$ErrorActionPreference = "Stop"

Get-NetConnectionProfile | Set-NetConnectionProfile -NetworkCategory Private

Enable-PSRemoting -Force -SkipNetworkProfileCheck
Set-Item -Path WSMan:\localhost\Service\Auth\Basic -Value $true
Set-Item -Path WSMan:\localhost\Service\AllowUnencrypted -Value $true
Set-Item -Path WSMan:\localhost\MaxTimeoutms -Value 1800000

New-NetFirewallRule -DisplayName "WinRM HTTP (Packer)" -Direction Inbound -Protocol TCP -LocalPort 5985 -Action Allow
Set-Service -Name WinRM -StartupType Automatic
Restart-Service -Name WinRM
