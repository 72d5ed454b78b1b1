<#
.SYNOPSIS
    One user scenario, end to end: fetch a URL twice (the second answer comes from the cache), find the
    entry, remove it through the pipeline, and read the statistics.

.DESCRIPTION
    The xunit tests run it in a fresh pwsh process (ScenarioTests), and Pester runs the same script
    (tests/pester/HttpCache.Tests.ps1). Any failure throws. On success it outputs
    KEY=value lines the callers check.

.PARAMETER Uri
    A URL whose answer is cacheable (200, no no-store) and that counts its requests.

.PARAMETER CachePath
    The SQLite cache file to use. Empty: the shared default session, at the user's cache folder (set
    XDG_CACHE_HOME to a scratch folder first on Linux, so the real cache is not touched).

.PARAMETER ModuleManifest
    The module to import: $env:HTTPCACHE_MODULE_MANIFEST when set, else the staged module/HttpCache.psd1.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)]
    [string] $Uri,

    [string] $CachePath = '',

    [string] $ModuleManifest = $env:HTTPCACHE_MODULE_MANIFEST
)

$ErrorActionPreference = 'Stop'

if (-not $ModuleManifest) {
    $ModuleManifest = [System.IO.Path]::GetFullPath([System.IO.Path]::Combine($PSScriptRoot, '..', '..', '..', 'module', 'HttpCache.psd1'))
}

Import-Module $ModuleManifest

# Every cmdlet gets the same session: either a file-backed one of our own, or (no -Session at all) the
# shared default one.
$sessionArgument = @{}
if ($CachePath) {
    $sessionArgument = @{ Session = New-HttpCacheSession -Name 'scenario' -Path $CachePath }
}

$first = Invoke-CachedWebRequest -Uri $Uri @sessionArgument
$second = Invoke-CachedWebRequest -Uri $Uri @sessionArgument

if ($first.StatusCode -ne 200) { throw "The first request answered $($first.StatusCode), not 200." }
if ($first.FromCache) { throw "The first answer came from the cache; the cache was not empty ($($first.Reason))." }
if (-not $second.FromCache) { throw "The second answer did not come from the cache ($($second.Reason))." }
if ($second.Reason -ne 'fresh-hit') { throw "The second answer's reason is '$($second.Reason)', not fresh-hit." }
if ($second.Content -ne $first.Content) { throw "The cached content '$($second.Content)' differs from the first '$($first.Content)'." }

$entries = @(Get-HttpCacheEntry -Uri $Uri @sessionArgument)
if ($entries.Count -ne 1) { throw "Get-HttpCacheEntry found $($entries.Count) entries for $Uri, not 1." }
if ($entries[0].Key -ne $second.CacheKey) { throw "The entry's key '$($entries[0].Key)' is not the answer's '$($second.CacheKey)'." }
$session = $entries[0].Session

$entries | Remove-HttpCacheEntry -Confirm:$false
# A URL without wildcards that matches nothing is an EntryNotFound error (as Get-Item's for a missing path).
$left = @(Get-HttpCacheEntry -Uri $Uri -Session $session -ErrorAction SilentlyContinue)
if ($left.Count -ne 0) { throw "$($left.Count) entries are left for $Uri after Remove-HttpCacheEntry." }

$third = Invoke-CachedWebRequest -Uri $Uri -Session $session
if ($third.FromCache) { throw 'The answer after the removal came from the cache.' }

$stats = Get-HttpCacheStats -Session $session
if ($stats.SessionHits -ne 1 -or $stats.SessionMisses -ne 2) {
    throw "This session counted $($stats.SessionHits) hits and $($stats.SessionMisses) misses, not 1 and 2."
}
if ($stats.StoreHits -lt 1 -or $stats.StoreMisses -lt 2) { throw "The store counted $($stats.StoreHits) hits and $($stats.StoreMisses) misses, fewer than this session." }

"FIRST-FROM-CACHE=$($first.FromCache)"
"SECOND-FROM-CACHE=$($second.FromCache)"
"SECOND-REASON=$($second.Reason)"
"ENTRY-KEY=$($entries[0].Key)"
"ENTRIES-AFTER-REMOVE=$($left.Count)"
"SESSION=$($session.Name)"
"BACKEND=$($session.Backend)"
"LOCATION=$($session.Location)"
"HITS=$($stats.StoreHits)"
"MISSES=$($stats.StoreMisses)"
"SESSION-HITS=$($stats.SessionHits)"
"SESSION-MISSES=$($stats.SessionMisses)"
