<#
.SYNOPSIS
    Cache warming at start-up: many URLs from the pipeline, fetched -ThrottleLimit at a time; one that fails
    is an error record of its own and the others are stored. A second warming is answered from the cache.

.DESCRIPTION
    Any failure throws, success prints KEY=value lines (run by the xunit tests in a fresh
    process, and by tests/pester/Warming.Tests.ps1).

.PARAMETER Uris
    URLs answering 200 with nothing about caching.

.PARAMETER FailingUri
    A URL answering 500.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)]
    [string[]] $Uris,

    [Parameter(Mandatory)]
    [string] $FailingUri,

    [int] $ThrottleLimit = 4,

    [string] $ModuleManifest = $env:HTTPCACHE_MODULE_MANIFEST
)

$ErrorActionPreference = 'Stop'
if (-not $ModuleManifest) {
    $ModuleManifest = [System.IO.Path]::GetFullPath([System.IO.Path]::Combine($PSScriptRoot, '..', '..', '..', 'module', 'HttpCache.psd1'))
}

Import-Module $ModuleManifest

$s = New-HttpCacheSession -Name warm -Backend Memory
$failed = $null
$answers = @(@($Uris) + $FailingUri | Invoke-CachedWebRequest -Session $s -ThrottleLimit $ThrottleLimit -ErrorVariable failed -ErrorAction SilentlyContinue)

if ($answers.Count -ne $Uris.Count) { throw "$($answers.Count) answers for $($Uris.Count) good URLs." }
if (@($failed).Count -ne 1) { throw "$(@($failed).Count) errors, not 1." }
$error0 = @($failed)[0]
if ($error0.FullyQualifiedErrorId -ne 'WebCmdletWebResponseException,HttpCache.Commands.InvokeCachedWebRequestCommand') { throw "The failure is $($error0.FullyQualifiedErrorId)." }
if ("$($error0.TargetObject)" -ne $FailingUri) { throw "The failure names $($error0.TargetObject), not $FailingUri." }
if ($error0.Exception.Response.StatusCode -ne 500) { throw 'The failure does not carry the 500 answer.' }
if (@($answers | Where-Object FromCache).Count -ne 0) { throw 'A first warming came from the cache.' }

$again = @($Uris | Invoke-CachedWebRequest -Session $s -ThrottleLimit $ThrottleLimit)
$cached = @($again | Where-Object FromCache).Count
if ($cached -ne $Uris.Count) { throw "$cached of $($Uris.Count) answers of the second warming came from the cache." }
$stored = @(Get-HttpCacheEntry -Session $s).Count
if ($stored -ne $Uris.Count) { throw "$stored entries stored, not $($Uris.Count)." }

"ANSWERS=$($answers.Count)"
"FAILED=$(@($failed).Count)"
"FAILED-URI=$($error0.TargetObject)"
"SECOND-FROM-CACHE=$cached"
"STORED=$stored"
