<#
.SYNOPSIS
    The main job in one script: fetch a URL, then answer it again from the SQLite cache.
.DESCRIPTION
    Without -Uri it needs no network: it starts a tiny origin on 127.0.0.1 (a thread job serving one page
    with Cache-Control: max-age=60) and fetches from it. With -Uri it fetches that URL instead.
.EXAMPLE
    ./examples/quickstart.ps1                              # offline, against its own local origin
.EXAMPLE
    ./examples/quickstart.ps1 -Uri https://example.com/    # a real site (needs internet)
#>
param(
    [Parameter(Position = 0)]
    [string] $Uri,
    # The SQLite file; the platform's user cache folder when omitted.
    [string] $CachePath
)

$ErrorActionPreference = 'Stop'
Import-Module "$PSScriptRoot/../module/HttpCache.psd1"

$origin = $null
if (-not $Uri) {
    # A local origin: the port is free when the listener starts, so retry a few random ones.
    for ($attempt = 1; ; $attempt++) {
        $port = Get-Random -Minimum 20000 -Maximum 60000
        $listener = [System.Net.HttpListener]::new()
        $listener.Prefixes.Add("http://127.0.0.1:$port/")
        try { $listener.Start(); break } catch [System.Net.HttpListenerException] { $listener.Close(); if ($attempt -ge 5) { throw } }
    }
    $origin = Start-ThreadJob -ArgumentList $listener -ScriptBlock {
        param($listener)
        while ($listener.IsListening) {
            try { $context = $listener.GetContext() } catch { break }
            $body = [System.Text.Encoding]::UTF8.GetBytes("<html><body>Served by the quick start's origin at $([datetime]::UtcNow.ToString('o'))</body></html>")
            $context.Response.ContentType = 'text/html; charset=utf-8'
            $context.Response.Headers['Cache-Control'] = 'max-age=60'
            $context.Response.OutputStream.Write($body, 0, $body.Length)
            $context.Response.Close()
        }
    }
    $Uri = "http://127.0.0.1:$port/"
}

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
    if ($origin) {
        $listener.Close()   # ends the job's GetContext(), and so its loop
        $null = $origin | Wait-Job -Timeout 30
        $origin | Remove-Job -Force
    }
}
