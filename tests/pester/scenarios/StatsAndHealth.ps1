<#
.SYNOPSIS
    Statistics as an ops engineer reads them: this session's hits and misses, the Health verdict (none below
    20 requests), the size growth over the calls, and the per-host table.

.DESCRIPTION
    Any failure throws, success prints KEY=value lines (run by the xunit tests in a fresh
    process, and by tests/pester/Stats.Tests.ps1).

.PARAMETER Uri
    A URL answering 200 with nothing about caching.

.PARAMETER OtherHostUri
    The same kind of URL on another host name (e.g. localhost instead of 127.0.0.1).
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)]
    [string] $Uri,

    [Parameter(Mandatory)]
    [string] $OtherHostUri,

    [string] $ModuleManifest = $env:HTTPCACHE_MODULE_MANIFEST
)

$ErrorActionPreference = 'Stop'
if (-not $ModuleManifest) {
    $ModuleManifest = [System.IO.Path]::GetFullPath([System.IO.Path]::Combine($PSScriptRoot, '..', '..', '..', 'module', 'HttpCache.psd1'))
}

Import-Module $ModuleManifest

$s = New-HttpCacheSession -Name stats -Backend Memory
$before = Get-HttpCacheStats -Session $s
if ($before.Health -ne 'Insufficient data' -or $before.Growth -ne 'Unknown') { throw "A new session is $($before.Health), growth $($before.Growth)." }

$null = Invoke-CachedWebRequest -Uri $Uri -Session $s                        # miss
1..4 | ForEach-Object { $null = Invoke-CachedWebRequest -Uri $Uri -Session $s }  # 4 hits
1..15 | ForEach-Object { $null = Invoke-CachedWebRequest -Uri $Uri -Session $s } # 15 more hits
$null = Invoke-CachedWebRequest -Uri $OtherHostUri -Session $s               # miss

$stats = Get-HttpCacheStats -Session $s
if ($stats.Hits -ne 19 -or $stats.Misses -ne 2) { throw "$($stats.Hits) hits and $($stats.Misses) misses, not 19 and 2." }
if ($stats.Health -ne 'Healthy') { throw "A 90% hit rate is $($stats.Health): $($stats.HealthReason)" }
if ($stats.Growth -ne 'Linear' -or $stats.GrowthBytes -ne $stats.StoredBytes) { throw "Growth from empty is $($stats.Growth) ($($stats.GrowthBytes) bytes)." }
if ($stats.Entries -ne 2 -or $null -eq $stats.OldestEntry -or $null -eq $stats.NewestEntry) { throw 'The inventory is wrong.' }

$again = Get-HttpCacheStats -Session $s
# Growth is judged over the window of calls (the store grew since the first), the change since the last call is 0.
if ($again.Growth -ne 'Linear' -or $again.GrowthBytes -ne 0) { throw "Growth over the calls is $($again.Growth) ($($again.GrowthBytes) bytes since the last)." }

$hosts = @(Get-HttpCacheStats -Session $s -GroupBy Host)
if ($hosts.Count -ne 2) { throw "$($hosts.Count) hosts, not 2." }
$busy = $hosts | Where-Object { $Uri.Contains("//$($_.Host)/") }
if ($busy.Entries -ne 1 -or $busy.Hits -ne 19) { throw "The busy host has $($busy.Entries) entries and $($busy.Hits) hits." }

"HITS=$($stats.Hits)"
"MISSES=$($stats.Misses)"
"HEALTH-BEFORE=$($before.Health)"
"HEALTH=$($stats.Health)"
"GROWTH-FIRST=$($before.Growth)"
"GROWTH=$($stats.Growth)"
"GROWTH-AGAIN=$($again.Growth)"
"HOSTS=$($hosts.Count)"
"BUSY-HOST-HITS=$($busy.Hits)"
