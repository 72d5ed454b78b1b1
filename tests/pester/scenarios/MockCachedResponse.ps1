<#
.SYNOPSIS
    Mocking Invoke-CachedWebRequest with a realistic HttpCache.CachedResponse-shaped object, as README's
    "Using HttpCache in your Pester tests" shows for Pester's Mock.

.DESCRIPTION
    Pester's Mock replaces a command with a function of the same name; here a plain function does the same
    (functions come before cmdlets), so the xunit tests can run the scenario without Pester. The same function
    runs first against the real cmdlet and a real origin: the mock must give it what a real cache hit gives
    (the same result, the same properties, the same Reason), so the README's object stays realistic.
#>
[CmdletBinding()]
param(
    # Where the real API answers: <BaseUri>/users/1 is {"id":1,"name":"Ada"} (the /users route of TestHelpers.ps1's origin).
    [Parameter(Mandatory)] [string] $BaseUri,
    [string] $ModuleManifest = $env:HTTPCACHE_MODULE_MANIFEST
)

$ErrorActionPreference = 'Stop'
if (-not $ModuleManifest) {
    $ModuleManifest = [System.IO.Path]::GetFullPath([System.IO.Path]::Combine($PSScriptRoot, '..', '..', '..', 'module', 'HttpCache.psd1'))
}

Import-Module $ModuleManifest

function New-FakeCachedResponse {
    # What the README's Mock returns: the properties of HttpCache.CachedResponse, with the type name that
    # format views and [OutputType] checks look for.
    param([string] $Uri, [string] $Content, [int] $StatusCode = 200, [bool] $FromCache = $true)
    $body = [System.Text.Encoding]::UTF8.GetBytes($Content)
    [pscustomobject]@{
        PSTypeName        = 'HttpCache.CachedResponse'
        Method            = 'GET'
        Uri               = $Uri
        StatusCode        = $StatusCode
        StatusDescription = if ($StatusCode -eq 200) { 'OK' } else { 'InternalServerError' }
        ReasonPhrase      = if ($StatusCode -eq 200) { 'OK' } else { 'Internal Server Error' }
        Headers           = @{ 'Content-Type' = [string[]]@('application/json; charset=utf-8') }
        Content           = $Content
        Encoding          = [System.Text.Encoding]::UTF8
        RawContent        = "HTTP/1.1 $StatusCode OK`r`nContent-Type: application/json; charset=utf-8`r`n`r`n$Content"
        RawContentLength  = [long]$body.Length
        RawContentStream  = [System.IO.MemoryStream]::new($body)
        RelationLink      = @{}
        BaseResponse      = $null
        Links             = @()
        Images            = @()
        InputFields       = @()
        OutFile           = $null
        FromCache         = $FromCache
        IsExpired         = $false
        CreatedAt         = [datetime]::Now.AddMinutes(-5)
        ExpiresAt         = [datetime]::Now.AddMinutes(5)
        CacheKey          = '3f2a9c1e5b7d4a6f8e0c2b4d6f8a0c1e'
        Revalidated       = $false
        Reason            = if ($FromCache) { 'fresh-hit' } else { 'miss-no-entry' }
        StoreReason       = if ($FromCache) { $null } else { 'stored' }
        StaleReason       = $null
        Age               = [timespan]::FromMinutes(5)
    }
}

# The code under test: a function of the user's that calls Invoke-CachedWebRequest.
function Get-UserName {
    param([string] $BaseUri, [int] $Id)
    $response = Invoke-CachedWebRequest "$BaseUri/users/$Id"
    if ($response.StatusCode -ne 200) { throw "HTTP $($response.StatusCode)" }
    $name = [regex]::Match($response.Content, '"name"\s*:\s*"([^"]*)"').Groups[1].Value
    if ($response.FromCache) { "$name (cached)" } else { $name }
}

# First the real thing, so the mock below imitates what HttpCache does rather than what the test assumes:
# the real cmdlet's first answer comes from the origin, the second from the cache, with these properties.
$session = New-HttpCacheSession -Backend Memory
$PSDefaultParameterValues['Invoke-CachedWebRequest:Session'] = $session
$realNames = @((Get-UserName -BaseUri $BaseUri -Id 1), (Get-UserName -BaseUri $BaseUri -Id 1))
$realHit = Invoke-CachedWebRequest "$BaseUri/users/1"
$PSDefaultParameterValues.Remove('Invoke-CachedWebRequest:Session')

# The mock: what Pester's `Mock Invoke-CachedWebRequest { New-FakeCachedResponse ... }` installs.
$script:calls = 0
function Invoke-CachedWebRequest {
    param([Parameter(Position = 0)] [string] $Uri)
    $script:calls++
    New-FakeCachedResponse -Uri $Uri -Content '{"id":1,"name":"Ada"}'
}

$name = Get-UserName -BaseUri 'https://api.example.com' -Id 1
if ($name -ne $realNames[1]) { throw "With the mock Get-UserName returned '$name'; with a real cache hit, '$($realNames[1])'." }
if ($script:calls -ne 1) { throw "The mock was called $script:calls times." }

$fake = New-FakeCachedResponse -Uri 'https://api.example.com/users/1' -Content '{}'
if ($fake.PSObject.TypeNames[0] -ne $realHit.PSObject.TypeNames[0]) { throw 'The fake does not carry the real type name.' }
$real = @($realHit.PSObject.Properties | Where-Object MemberType -eq 'Property' | ForEach-Object Name)
$missing = @($real | Where-Object { $null -eq $fake.PSObject.Properties[$_] })
if ($missing.Count -gt 0) { throw "The fake lacks $($missing -join ', ') of HttpCache.CachedResponse." }
if ($fake.Reason -ne $realHit.Reason) { throw "The fake says '$($fake.Reason)' where a real hit says '$($realHit.Reason)'." }

"REAL=$($realNames -join '|')"
"REAL-REASON=$($realHit.Reason)"
"NAME=$name"
"CALLS=$script:calls"
"TYPENAME=$($fake.PSObject.TypeNames[0])"
"PROPERTIES=$($real.Count)"
