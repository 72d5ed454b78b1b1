<#
.SYNOPSIS
    The module explains itself: Get-Help -Full for every exported cmdlet (synopsis, every parameter, at least
    three examples), about_HttpCache, and -Uri tab completion from the cached URLs.

.DESCRIPTION
    Any failure throws, success prints KEY=value lines (run by the xunit tests in a fresh
    process, and by tests/pester/Help.Tests.ps1).

.PARAMETER Uri
    A URL answering 200 with nothing about caching.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)]
    [string] $Uri,

    [string] $ModuleManifest = $env:HTTPCACHE_MODULE_MANIFEST
)

$ErrorActionPreference = 'Stop'
if (-not $ModuleManifest) {
    $ModuleManifest = [System.IO.Path]::GetFullPath([System.IO.Path]::Combine($PSScriptRoot, '..', '..', '..', 'module', 'HttpCache.psd1'))
}

Import-Module $ModuleManifest

$common = 'Verbose', 'Debug', 'ErrorAction', 'WarningAction', 'InformationAction', 'ProgressAction', 'ErrorVariable',
    'WarningVariable', 'InformationVariable', 'OutVariable', 'OutBuffer', 'PipelineVariable', 'WhatIf', 'Confirm'
$commands = @(Get-Command -Module HttpCache)
foreach ($command in $commands) {
    $help = Get-Help $command.Name -Full
    if (-not $help.Synopsis -or $help.Synopsis -eq $command.Name) { throw "$($command.Name) has no synopsis." }
    if (@($help.examples.example).Count -lt 3) { throw "$($command.Name) has fewer than three examples." }
    $documented = @($help.parameters.parameter | ForEach-Object name)
    foreach ($parameter in $command.Parameters.Keys) {
        if ($common -contains $parameter) { continue }
        if ($documented -notcontains $parameter) { throw "Get-Help $($command.Name) does not document -$parameter." }
    }
}

$about = Get-Help about_HttpCache
if (-not "$about".Contains('SHORT DESCRIPTION')) { throw 'about_HttpCache was not found.' }

$session = New-HttpCacheSession -Backend Memory
$null = Invoke-CachedWebRequest -Uri $Uri -Session $session
$line = 'Get-HttpCacheEntry -Session $session -Uri '
$offered = @((TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches | ForEach-Object CompletionText)
if ($offered -notcontains "'$Uri'") { throw "-Uri completion offered $($offered -join ', ') instead of '$Uri'." }

"COMMANDS=$($commands.Count)"
"ABOUT=True"
"COMPLETED=$($offered -join ' ')"
