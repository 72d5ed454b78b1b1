<#
.SYNOPSIS
    Mocking Invoke-CachedWebRequest with a realistic HttpCache.CachedResponse-shaped object, as README's
    "Using HttpCache in your Pester tests" shows for Pester's Mock.

.DESCRIPTION
    Pester's Mock replaces a command with a function of the same name; here a plain function does the same
    (functions come before cmdlets), so the xunit tests can run the scenario without Pester. It also checks
    that the fake has every property of the real type, so the README's object stays realistic.
#>
[CmdletBinding()]
param(
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
    param([int] $Id)
    $response = Invoke-CachedWebRequest "https://api.example.com/users/$Id"
    if ($response.StatusCode -ne 200) { throw "HTTP $($response.StatusCode)" }
    $name = $response.Content.Split('"')[3]
    if ($response.FromCache) { "$name (cached)" } else { $name }
}

# The mock: what Pester's `Mock Invoke-CachedWebRequest { New-FakeCachedResponse ... }` installs.
$script:calls = 0
function Invoke-CachedWebRequest {
    param([Parameter(Position = 0)] [string] $Uri)
    $script:calls++
    New-FakeCachedResponse -Uri $Uri -Content '{"name":"Ada"}'
}

$name = Get-UserName -Id 1
if ($name -ne 'Ada (cached)') { throw "Get-UserName returned '$name'." }
if ($script:calls -ne 1) { throw "The mock was called $script:calls times." }

$fake = New-FakeCachedResponse -Uri 'https://api.example.com/users/1' -Content '{}'
if ($fake.PSObject.TypeNames[0] -ne 'HttpCache.CachedResponse') { throw 'The fake does not carry the type name.' }
$real = @([HttpCache.CachedResponse].GetProperties() | ForEach-Object Name)
$missing = @($real | Where-Object { $null -eq $fake.PSObject.Properties[$_] })
if ($missing.Count -gt 0) { throw "The fake lacks $($missing -join ', ') of HttpCache.CachedResponse." }

"NAME=$name"
"CALLS=$script:calls"
"TYPENAME=$($fake.PSObject.TypeNames[0])"
"PROPERTIES=$($real.Count)"
