<#
.SYNOPSIS
    Moves ApiReport.ps1, a script written only for Invoke-RestMethod, onto the cache without editing it:
    Enable-HttpCache, a thread job that enables it for itself, and Use-HttpCache.

.DESCRIPTION
    Any failure throws; success prints KEY=value lines (run by the xunit tests in a fresh pwsh, and by
    tests/pester/DropIn.Tests.ps1).

.PARAMETER BaseUri
    The origin ApiReport.ps1 reads: <BaseUri>/users/<id> answers JSON.

.PARAMETER DefaultSession
    Enable-HttpCache without -Session (the shared default session; point XDG_CACHE_HOME at a scratch folder).
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)]
    [string] $BaseUri,

    [switch] $DefaultSession,

    [string] $ModuleManifest = $env:HTTPCACHE_MODULE_MANIFEST
)

$ErrorActionPreference = 'Stop'
if (-not $ModuleManifest) {
    $ModuleManifest = [System.IO.Path]::GetFullPath([System.IO.Path]::Combine($PSScriptRoot, '..', '..', '..', 'module', 'HttpCache.psd1'))
}

Import-Module $ModuleManifest
$report = Join-Path $PSScriptRoot 'ApiReport.ps1'

# The uncached run: the built-in Invoke-RestMethod.
$plain = & $report -BaseUri $BaseUri | Out-String

if ($DefaultSession) {
    Enable-HttpCache
} else {
    Enable-HttpCache -Session (New-HttpCacheSession -Name drop-in-scenario -Backend Memory)
}
$first = & $report -BaseUri $BaseUri | Out-String
# Read after the first call: the default session exists from then on.
$session = (Get-HttpCacheSession -DropIn).Session
$second = & $report -BaseUri $BaseUri | Out-String
$dropIn = Get-HttpCacheSession -DropIn

# A thread job's runspace starts without the drop-in: it imports the module and enables it for itself.
$job = Start-ThreadJob -ScriptBlock {
    Import-Module $using:ModuleManifest
    Enable-HttpCache -Session $using:session
    & $using:report -BaseUri $using:BaseUri | Out-String
}
$threaded = $job | Receive-Job -Wait -AutoRemoveJob
Disable-HttpCache
$builtInAfter = (Get-Command Invoke-RestMethod).CommandType

$scratch = New-HttpCacheSession -Name drop-in-block -Backend Memory
$block = Use-HttpCache -Session $scratch { & $report -BaseUri $BaseUri | Out-String }
$blockStats = Get-HttpCacheStats -Session $scratch
$stats = Get-HttpCacheStats -Session $session

"ENABLED-SESSION=$($dropIn.SessionName)"
"ENABLED-SCOPE=$($dropIn.Scope)"
"SAME-AS-UNCACHED=$($first -eq $plain -and $second -eq $plain)"
"THREAD-JOB-SAME=$($threaded -eq $plain)"
"BLOCK-SAME=$($block -eq $plain)"
"SESSION-HITS=$($stats.SessionHits)"
"SESSION-MISSES=$($stats.SessionMisses)"
"BLOCK-MISSES=$($blockStats.SessionMisses)"
"BUILT-IN-AFTER=$builtInAfter"
"BUILT-IN-AFTER-BLOCK=$((Get-Command Invoke-RestMethod).CommandType)"
