<#
.SYNOPSIS
    The main job in one script: fetch a URL, then answer it again from the SQLite cache.
.EXAMPLE
    ./examples/quickstart.ps1 -Uri https://example.com/
#>
param(
    [Parameter(Position = 0)]
    [string] $Uri = 'https://example.com/',
    # The SQLite file; the platform's user cache folder when omitted.
    [string] $CachePath
)

$ErrorActionPreference = 'Stop'
Import-Module "$PSScriptRoot/../module/HttpCache.psd1"

$session = if ($CachePath) { New-HttpCacheSession -Name quickstart -Path $CachePath } else { New-HttpCacheSession -Name quickstart }
try {
    foreach ($attempt in 1, 2) {
        $response = Invoke-CachedWebRequest -Uri $Uri -Session $session
        "request $attempt : $($response.StatusCode) $($response.RawContentLength) bytes, FromCache=$($response.FromCache) ($($response.Reason))"
    }

    $stats = Get-HttpCacheStats -Session $session
    "cache    : $($session.Location)"
    "stats    : $($stats.Hits) hits, $($stats.Misses) misses, $($stats.Entries) entries, $($stats.StoredBytes) bytes stored"
}
finally {
    $session.Dispose()
}
