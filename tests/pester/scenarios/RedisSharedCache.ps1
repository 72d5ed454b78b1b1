<#
.SYNOPSIS
    One process's part in a Redis cache that several processes share: open a session on the Redis namespace,
    fetch URLs, optionally read the cumulative statistics, and end (dispose the session, or just exit).

.DESCRIPTION
    Run it in two processes with the same -RedisConfiguration and -Namespace: what the first stores, the
    second answers from the cache, and Get-HttpCacheStats in either shows the counters of both (Redis adds
    them atomically). A session's counters reach Redis when Get-HttpCacheStats runs, when the session is
    disposed, and when the process exits; -End Exit leaves them to the exit.

    The xunit tests run it in fresh pwsh processes (RedisSharedCacheTests), and Pester can run the same
    script. Any failure throws. On success it outputs KEY=value lines the callers check.

.PARAMETER Uri
    The URLs to fetch, in order; several may be given as one comma-separated argument. None: only the other
    steps run (e.g. -Stats alone).

.PARAMETER RedisConfiguration
    A StackExchange.Redis configuration string: a server's or a Cluster's endpoints.

.PARAMETER Namespace
    The Redis namespace the processes share.

.PARAMETER Expect
    Hit: every answer must come from the cache. Miss: none may. Any: no check.

.PARAMETER Repeat
    How many times the list of URLs is fetched.

.PARAMETER Stats
    Read Get-HttpCacheStats at the end and report its figures.

.PARAMETER End
    Dispose: dispose the session (which flushes its counters). Exit: leave it to the process exit.

.PARAMETER ModuleManifest
    The module to import: $env:HTTPCACHE_MODULE_MANIFEST when set, else the staged module/HttpCache.psd1.
#>
[CmdletBinding()]
param(
    [string[]] $Uri = @(),

    [Parameter(Mandatory)]
    [string] $RedisConfiguration,

    [Parameter(Mandatory)]
    [string] $Namespace,

    [ValidateSet('Hit', 'Miss', 'Any')]
    [string] $Expect = 'Any',

    [ValidateRange(1, 100)]
    [int] $Repeat = 1,

    [switch] $Stats,

    [ValidateSet('Dispose', 'Exit')]
    [string] $End = 'Exit',

    [string] $ModuleManifest = $env:HTTPCACHE_MODULE_MANIFEST
)

$ErrorActionPreference = 'Stop'

if (-not $ModuleManifest) {
    $ModuleManifest = [System.IO.Path]::GetFullPath([System.IO.Path]::Combine($PSScriptRoot, '..', '..', '..', 'module', 'HttpCache.psd1'))
}

Import-Module $ModuleManifest

$urls = @($Uri | ForEach-Object { $_ -split ',' } | Where-Object { $_ })

$session = New-HttpCacheSession -Name 'redis-shared' -Backend Redis -RedisConfiguration $RedisConfiguration -Namespace $Namespace
if ($session.Backend -ne 'Redis') { throw "The session's backend is '$($session.Backend)', not Redis." }
if ($session.Namespace -ne $Namespace) { throw "The session's namespace is '$($session.Namespace)', not '$Namespace'." }

$fromCache = 0
$fromOrigin = 0
$contents = @()
$reasons = @()
foreach ($round in 1..$Repeat) {
    foreach ($url in $urls) {
        # A healthy shared cache never warns: a warning here means the store failed and the origin stood in.
        $answer = Invoke-CachedWebRequest -Uri $url -Session $session -WarningVariable warned -WarningAction SilentlyContinue
        if ($warned.Count -gt 0) { throw "Invoke-CachedWebRequest warned for ${url}: $($warned -join ' | ')" }
        if ($answer.StatusCode -ne 200) { throw "$url answered $($answer.StatusCode), not 200." }
        if ($Expect -eq 'Hit' -and -not $answer.FromCache) { throw "$url did not come from the shared cache ($($answer.Reason))." }
        if ($Expect -eq 'Miss' -and $answer.FromCache) { throw "$url came from the cache ($($answer.Reason)); the namespace was not empty." }
        if ($answer.FromCache) { $fromCache++ } else { $fromOrigin++ }
        $contents += "$($answer.Content)"
        $reasons += "$($answer.Reason)"
    }
}

"BACKEND=$($session.Backend)"
"NAMESPACE=$($session.Namespace)"
"FROM-CACHE=$fromCache"
"FROM-ORIGIN=$fromOrigin"
"CONTENTS=$($contents -join ',')"
"REASONS=$($reasons -join ',')"

if ($Stats) {
    $figures = Get-HttpCacheStats -Session $session
    if ($figures.SessionHits -ne $fromCache -or $figures.SessionMisses -ne $fromOrigin) {
        throw "This session counted $($figures.SessionHits) hits and $($figures.SessionMisses) misses, not $fromCache and $fromOrigin."
    }
    if ($figures.StoreHits -lt $figures.SessionHits -or $figures.StoreMisses -lt $figures.SessionMisses) {
        throw "The shared counters ($($figures.StoreHits) hits, $($figures.StoreMisses) misses) are below this session's own."
    }

    # The store's cumulative figures (every process that used the namespace); Hits/Misses are this session's.
    "HITS=$($figures.StoreHits)"
    "MISSES=$($figures.StoreMisses)"
    "STORES=$($figures.StoreWrites)"
    "ERRORS=$($figures.StoreErrors)"
    "ENTRIES=$($figures.Entries)"
    "SESSION-HITS=$($figures.SessionHits)"
    "SESSION-MISSES=$($figures.SessionMisses)"
}

if ($End -eq 'Dispose') {
    $session.Dispose()
}

"ENDED=$End"
