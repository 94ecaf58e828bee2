//! PowerShell command lines: `-EncodedCommand` encoding, and the small scripts our transfers run
//! on the machine. Each script starts with a marker comment naming it and its version, so a
//! test server (and a human reading a WinRM trace) can tell what it is.

use base64::Engine as _;

/// First line of our upload script.
pub const UPLOAD_MARKER: &str = "# packer-winrm upload v1";
/// First line of our download script.
pub const DOWNLOAD_MARKER: &str = "# packer-winrm download v1";
/// What the upload script prints when it has written the file: this prefix and the byte count.
pub const UPLOAD_DONE_PREFIX: &str = "packer-upload-bytes:";
/// Raw bytes per line the download script base64-encodes (a multiple of 3: no padding mid-file).
pub const DOWNLOAD_BLOCK: usize = 48 * 1024;

/// `powershell.exe ... -EncodedCommand <base64 of UTF-16LE script>`: the script travels as one
/// opaque token, so cmd.exe quoting never touches it. Windows limits a cmd.exe command line to
/// 8191 characters; every script here stays far below that (checked in tests).
pub fn encoded_command(script: &str) -> String {
    let utf16: Vec<u8> = script.encode_utf16().flat_map(u16::to_le_bytes).collect();
    format!(
        "powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand {}",
        base64::engine::general_purpose::STANDARD.encode(utf16)
    )
}

/// A remote path as a PowerShell double-quoted string: like Packer's Go client, surrounding
/// quotes are dropped and `$env:...` still expands; `"` and the backtick are escaped.
pub fn ps_path(path: &str) -> String {
    let trimmed = path.trim().trim_matches('\'').trim_matches('"');
    let mut out = String::with_capacity(trimmed.len() + 2);
    out.push('"');
    for c in trimmed.chars() {
        match c {
            '"' => out.push_str("`\""),
            '`' => out.push_str("``"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Reads base64 lines from stdin (a pipe) until EOF or a line holding only `.`, writes their
/// bytes to `dest` (creating its directory), and prints how many bytes it wrote.
pub fn upload_script(dest: &str) -> String {
    format!(
        r#"{UPLOAD_MARKER}
$ProgressPreference = 'SilentlyContinue'
$ErrorActionPreference = 'Stop'
$dest = [System.IO.Path]::GetFullPath({dest})
$dir = [System.IO.Path]::GetDirectoryName($dest)
if ($dir -and -not (Test-Path -LiteralPath $dir)) {{ New-Item -ItemType Directory -Force -Path $dir | Out-Null }}
if (Test-Path -LiteralPath $dest -PathType Container) {{ [Console]::Error.WriteLine("$dest is a directory"); exit 2 }}
$out = [System.IO.File]::Open($dest, [System.IO.FileMode]::Create, [System.IO.FileAccess]::Write)
$total = 0
try {{
  $in = [Console]::In
  while ($true) {{
    $line = $in.ReadLine()
    if ($line -eq $null -or $line -eq '.') {{ break }}
    if ($line.Length -eq 0) {{ continue }}
    $bytes = [System.Convert]::FromBase64String($line)
    $out.Write($bytes, 0, $bytes.Length)
    $total += $bytes.Length
  }}
}} finally {{ $out.Close() }}
[Console]::Out.WriteLine("{UPLOAD_DONE_PREFIX}$total")
exit 0
"#,
        dest = ps_path(dest)
    )
}

/// Prints `src` as base64 lines of [`DOWNLOAD_BLOCK`] raw bytes each.
pub fn download_script(src: &str) -> String {
    format!(
        r#"{DOWNLOAD_MARKER}
$ProgressPreference = 'SilentlyContinue'
$ErrorActionPreference = 'Stop'
$src = [System.IO.Path]::GetFullPath({src})
if (-not (Test-Path -LiteralPath $src -PathType Leaf)) {{ [Console]::Error.WriteLine("$src does not exist or is not a file"); exit 2 }}
$in = [System.IO.File]::OpenRead($src)
try {{
  $buf = New-Object byte[] {DOWNLOAD_BLOCK}
  while (($n = $in.Read($buf, 0, $buf.Length)) -gt 0) {{
    [Console]::Out.WriteLine([System.Convert]::ToBase64String($buf, 0, $n))
  }}
}} finally {{ $in.Close() }}
exit 0
"#,
        src = ps_path(src)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_command_is_utf16le_base64() {
        let cmd = encoded_command("echo 'hé'");
        let b64 = cmd.rsplit(' ').next().unwrap();
        let raw = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        let units: Vec<u16> = raw
            .chunks(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        assert_eq!(String::from_utf16(&units).unwrap(), "echo 'hé'");
    }

    #[test]
    fn scripts_fit_cmd_line_limit_even_with_long_paths() {
        let long = format!("C:\\{}\\file.bin", "d".repeat(250));
        for script in [upload_script(&long), download_script(&long)] {
            let line = encoded_command(&script);
            assert!(line.len() < 8191, "{} chars", line.len());
        }
    }

    #[test]
    fn paths_are_quoted_like_go_does() {
        assert_eq!(
            ps_path("c:/Windows/Temp/x.ps1"),
            "\"c:/Windows/Temp/x.ps1\""
        );
        assert_eq!(ps_path("'C:\\a b\\c'"), "\"C:\\a b\\c\"");
        assert_eq!(ps_path("C:\\q\"uo`te"), "\"C:\\q`\"uo``te\"");
        assert_eq!(ps_path("$env:TEMP\\f"), "\"$env:TEMP\\f\"");
    }
}
