<#
.SYNOPSIS
    The offline-fixture pattern of README's "Using HttpCache in your Pester tests": record real API answers
    once into a SQLite file, then answer the tests from a copy of it with -OnlyIfCached, never the network.

.EXAMPLE
    ./OfflineFixture.ps1 -BaseUri https://api.example.com -Record    # once, online: writes fixtures/api.sqlite
    ./OfflineFixture.ps1 -BaseUri https://api.example.com            # any time, offline

.NOTES
    The xunit tests run this very script (PesterScenarioTests); README shows it whole.
#>
param(
    [string] $BaseUri = 'https://api.example.com',
    [string] $FixturePath = [System.IO.Path]::Combine($PSScriptRoot, 'fixtures', 'api.sqlite'),
    [switch] $Record,
    [string] $Module = 'HttpCache'
)

$ErrorActionPreference = 'Stop'
Import-Module $Module

if ($Record) {
    # Once, online: the answers the tests need, stored for good (-CacheControl:$false: the API's own
    # max-age must not expire them; -ForceRefresh: a new recording replaces an old one).
    $recorder = New-HttpCacheSession -Name fixtures -Path $FixturePath -ExpireAfter NeverExpire -CacheControl:$false
    try {
        foreach ($path in '/users/1', '/users/2') {
            $null = Invoke-CachedWebRequest "$BaseUri$path" -Session $recorder -ForceRefresh
        }

        "RECORDED=$(@(Get-HttpCacheEntry -Session $recorder).Count)"
    }
    finally {
        $recorder.Dispose() # flushes and closes the file: commit api.sqlite as it is
    }

    return
}

# In the tests: a scratch copy of the committed file (the cache writes hit counts), and -OnlyIfCached.
$copy = [System.IO.Path]::Combine([System.IO.Path]::GetTempPath(), "api-fixture-$([guid]::NewGuid().ToString('N')).sqlite")
[System.IO.File]::Copy($FixturePath, $copy)
$api = New-HttpCacheSession -Name fixtures -Path $copy -ExpireAfter NeverExpire -CacheControl:$false
try {
    $user = Invoke-CachedRestMethod "$BaseUri/users/1" -Session $api -OnlyIfCached
    "USER-1=$($user.name)"

    # A request nobody recorded fails loudly: 504 Not Cached, not a call to the real API.
    try {
        $null = Invoke-CachedRestMethod "$BaseUri/users/3" -Session $api -OnlyIfCached
        throw 'An unrecorded request was answered.'
    }
    catch [Microsoft.PowerShell.Commands.HttpResponseException] {
        "UNRECORDED=$([int]$_.Exception.Response.StatusCode) $($_.Exception.CachedResponse.Reason)"
    }
}
finally {
    $api.Dispose()
    [System.IO.File]::Delete($copy)
}
