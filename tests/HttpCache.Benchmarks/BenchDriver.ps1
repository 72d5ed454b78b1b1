# What the cmdlet-level benchmark scripts share, dot-sourced by their driver part: this pwsh (`dotnet pwsh` or a
# native one), a free loopback port, and one figure measured by the calling script run again in a fresh process.
# The caller defines $ModuleManifest (resolved) before dot-sourcing.

$pwsh, $pwshArgs = if ([IO.Path]::GetFileNameWithoutExtension([Environment]::ProcessPath) -eq 'dotnet') {
    [Environment]::ProcessPath, @((Join-Path $PSHOME 'pwsh.dll'))
} else { [Environment]::ProcessPath, @() }

function Get-FreePort {
    $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
    $listener.Start(); try { $listener.LocalEndpoint.Port } finally { $listener.Stop() }
}

# Runs the calling script as a child that measures the figure $spec describes; its last output line is the result.
function Invoke-Figure([hashtable] $spec) {
    $json = $spec | ConvertTo-Json -Compress
    $out = & $pwsh @pwshArgs -NoProfile -NonInteractive -File $MyInvocation.PSCommandPath -ModuleManifest $ModuleManifest -Figure $json
    if ($LASTEXITCODE -ne 0) { throw "Figure $json failed (exit code $LASTEXITCODE): $out" }
    $out | Select-Object -Last 1 | ConvertFrom-Json
}
