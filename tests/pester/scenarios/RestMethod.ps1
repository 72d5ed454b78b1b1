<#
.SYNOPSIS
    Invoke-CachedRestMethod as Invoke-RestMethod is used: JSON to objects (an array element by element), XML
    to a document, cached like Invoke-CachedWebRequest.

.DESCRIPTION
    Any failure throws, success prints KEY=value lines (run by the xunit tests in a fresh
    process, and by tests/pester/RestMethod.Tests.ps1).

.PARAMETER JsonUri
    Answers application/json {"name":"Ada","id":7,"tags":["math","engines"]}.

.PARAMETER JsonArrayUri
    Answers application/json [{"n":1},{"n":2},{"n":3}].

.PARAMETER XmlUri
    Answers application/xml <catalog><book id="1"><title>One</title></book><book id="2"><title>Two</title></book></catalog>.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)]
    [string] $JsonUri,

    [Parameter(Mandatory)]
    [string] $JsonArrayUri,

    [Parameter(Mandatory)]
    [string] $XmlUri,

    [string] $ModuleManifest = $env:HTTPCACHE_MODULE_MANIFEST
)

$ErrorActionPreference = 'Stop'
if (-not $ModuleManifest) {
    $ModuleManifest = [System.IO.Path]::GetFullPath([System.IO.Path]::Combine($PSScriptRoot, '..', '..', '..', 'module', 'HttpCache.psd1'))
}

Import-Module $ModuleManifest

$s = New-HttpCacheSession -Name rest -Backend Memory
$user = Invoke-CachedRestMethod -Uri $JsonUri -Session $s
if ($user.name -ne 'Ada' -or $user.id -ne 7 -or $user.tags[1] -ne 'engines') { throw "The JSON object read as name=$($user.name) id=$($user.id)." }
if ($user.id -isnot [long]) { throw "id is a $($user.id.GetType().Name), not the Int64 Invoke-RestMethod gives." }
$again = Invoke-CachedRestMethod -Uri $JsonUri -Session $s -ResponseVariable response -StatusCodeVariable status
if (-not $response.FromCache -or $response.Reason -ne 'fresh-hit') { throw "The second call was $($response.Reason)." }
if ($status -ne 200 -or $again.name -ne 'Ada') { throw 'The cached answer differs.' }

$items = @(Invoke-CachedRestMethod -Uri $JsonArrayUri -Session $s)
if ($items.Count -ne 3) { throw "The JSON array gave $($items.Count) objects, not 3." }
$big = @(Invoke-CachedRestMethod -Uri $JsonArrayUri -Session $s | Where-Object n -ge 2)

$catalog = Invoke-CachedRestMethod -Uri $XmlUri -Session $s
if ($catalog -isnot [System.Xml.XmlDocument]) { throw "XML read as $($catalog.GetType().FullName)." }
$titles = @($catalog.catalog.book | ForEach-Object title)

"JSON-NAME=$($user.name)"
"JSON-ID-TYPE=$($user.id.GetType().Name)"
"SECOND-FROM-CACHE=$($response.FromCache)"
"ARRAY-COUNT=$($items.Count)"
"ARRAY-FILTERED=$($big.Count)"
"XML-TITLES=$($titles -join ',')"
