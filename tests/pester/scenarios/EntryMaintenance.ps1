<#
.SYNOPSIS
    Entries and maintenance as an ops engineer works with them: filter the stored responses, see how often
    each was served, reset expirations (first with -WhatIf), and remove entries piped as objects, URLs and
    keys, with -PassThru.

.DESCRIPTION
    Any failure throws, success prints KEY=value lines. The xunit tests run it in a fresh
    process (tests/HttpCache.Commands.Tests/Cmdlets/PesterScenarioTests.cs); tests/pester/Entries.Tests.ps1
    runs it under Pester.

.PARAMETER Uris
    At least three URLs answering 200 with nothing about caching (each counts its requests).

.PARAMETER NotFoundUri
    A URL answering 404.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)]
    [string[]] $Uris,

    [Parameter(Mandatory)]
    [string] $NotFoundUri,

    [string] $ModuleManifest = $env:HTTPCACHE_MODULE_MANIFEST
)

$ErrorActionPreference = 'Stop'
if (-not $ModuleManifest) {
    $ModuleManifest = [System.IO.Path]::GetFullPath([System.IO.Path]::Combine($PSScriptRoot, '..', '..', '..', 'module', 'HttpCache.psd1'))
}

Import-Module $ModuleManifest
if ($Uris.Count -lt 3) { throw 'Give at least three URLs.' }

# 404s are stored too in this session, so the status filter has something to find.
$s = New-HttpCacheSession -Name maintenance -Backend Memory -AllowedStatusCodes 200, 404
$Uris | Invoke-CachedWebRequest -Session $s | Out-Null
$null = Invoke-CachedWebRequest -Uri $NotFoundUri -Session $s -SkipHttpErrorCheck
1..2 | ForEach-Object { $null = Invoke-CachedWebRequest -Uri $Uris[0] -Session $s }

# Filters.
$all = @(Get-HttpCacheEntry -Session $s)
if ($all.Count -ne $Uris.Count + 1) { throw "$($all.Count) entries, not $($Uris.Count + 1)." }
$notFound = @(Get-HttpCacheEntry -Session $s -StatusCode 404)
if ($notFound.Count -ne 1 -or $notFound[0].Uri -ne $NotFoundUri) { throw "-StatusCode 404 found $($notFound.Count) entries." }
$ok = @(Get-HttpCacheEntry -Session $s -Method GET -StatusCode 200)
if ($ok.Count -ne $Uris.Count) { throw "-Method GET -StatusCode 200 found $($ok.Count) entries, not $($Uris.Count)." }
if (@(Get-HttpCacheEntry -Session $s -Method POST).Count -ne 0) { throw '-Method POST found entries.' }
if (@(Get-HttpCacheEntry -Session $s -NewerThan '01:00:00').Count -ne $all.Count) { throw '-NewerThan 1 hour missed entries.' }
if (@(Get-HttpCacheEntry -Session $s -OlderThan '01:00:00').Count -ne 0) { throw '-OlderThan 1 hour found entries.' }

# How often each was served.
$served = Get-HttpCacheEntry -Session $s -Uri $Uris[0]
if ($served.HitCount -ne 2) { throw "The entry served twice has HitCount $($served.HitCount)." }
if ((Get-HttpCacheEntry -Session $s -Uri $Uris[1]).HitCount -ne 0) { throw 'An entry never served has hits.' }

# Reset: -WhatIf first, then for real on one entry.
Reset-HttpCacheExpiration -ExpireAfter ExpireImmediately -Session $s -WhatIf
if (@(Get-HttpCacheEntry -Session $s -Expired).Count -ne 0) { throw 'Reset-HttpCacheExpiration -WhatIf changed entries.' }
Get-HttpCacheEntry -Session $s -Uri $Uris[1] | Reset-HttpCacheExpiration -ExpireAfter ExpireImmediately | Out-Null
$expired = @(Get-HttpCacheEntry -Session $s -Expired)
if ($expired.Count -ne 1 -or $expired[0].Uri -ne $Uris[1]) { throw "-Expired found $($expired.Count) entries after one reset." }

# Remove: piped entries, a piped URL, a piped key; -PassThru tells what went.
$removed = @(Get-HttpCacheEntry -Session $s -Expired | Remove-HttpCacheEntry -PassThru)
if ($removed.Count -ne 1 -or $removed[0].Uri -ne $Uris[1]) { throw 'Removing the expired entry did not pass it through.' }
$byUrl = @($NotFoundUri | Remove-HttpCacheEntry -Session $s -PassThru)
if ($byUrl.Count -ne 1 -or $byUrl[0].StatusCode -ne 404) { throw 'A piped URL did not remove its entry.' }
$key = (Get-HttpCacheEntry -Session $s -Uri $Uris[0]).Key
$byKey = @($key | Remove-HttpCacheEntry -Session $s -PassThru)
if ($byKey.Count -ne 1 -or $byKey[0].Key -ne $key) { throw 'A piped key did not remove its entry.' }

Remove-HttpCacheEntry -Session $s -All -WhatIf
$left = @(Get-HttpCacheEntry -Session $s).Count
if ($left -ne $Uris.Count - 2) { throw "$left entries left, not $($Uris.Count - 2)." }
$gone = @(Remove-HttpCacheEntry -Session $s -All -Force -PassThru).Count
if (@(Get-HttpCacheEntry -Session $s).Count -ne 0) { throw 'Remove-HttpCacheEntry -All left entries.' }

"ENTRIES=$($all.Count)"
"NOT-FOUND=$($notFound.Count)"
"HIT-COUNT=$($served.HitCount)"
"EXPIRED-AFTER-RESET=$($expired.Count)"
"REMOVED-EXPIRED=$($removed.Count)"
"REMOVED-BY-URL=$($byUrl.Count)"
"REMOVED-BY-KEY=$($byKey.Count)"
"LEFT-AFTER-WHATIF=$left"
"REMOVED-ALL=$gone"
