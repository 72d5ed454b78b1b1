#Requires -Version 7.4
<#
.SYNOPSIS
    Builds, tests and packages the HttpCache module (for pwsh users; the build itself is plain dotnet).
.EXAMPLE
    ./build.ps1                      # Build (Release): stages module/
    ./build.ps1 Test                 # dotnet test HttpCache.sln -c Release
    ./build.ps1 Package              # Build, then zip module/ into bin/HttpCache-<version>.zip
    Import-Module ./module/HttpCache.psd1
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Package')]
    [string[]] $Task = 'Build',

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release'
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$solution = Join-Path $PSScriptRoot 'HttpCache.sln'
$moduleDir = Join-Path $PSScriptRoot 'module'

function Invoke-Dotnet {
    & dotnet @args
    if ($LASTEXITCODE -ne 0) { throw "dotnet $($args -join ' ') failed with exit code $LASTEXITCODE" }
}

foreach ($step in $Task) {
    switch ($step) {
        'Build' {
            # Building the Commands project stages module/ (see StageModule in HttpCache.Commands.csproj).
            Invoke-Dotnet build $solution -c $Configuration
        }
        'Test' {
            Invoke-Dotnet test $solution -c $Configuration
        }
        'Package' {
            Invoke-Dotnet build $solution -c $Configuration
            $manifest = Test-ModuleManifest (Join-Path $moduleDir 'HttpCache.psd1')
            $prerelease = $manifest.PrivateData.PSData['Prerelease']
            $version = if ($prerelease) { "$($manifest.Version)-$prerelease" } else { "$($manifest.Version)" }
            # bin/ is git-ignored. Zip the contents, not the folder: unzip into a folder named HttpCache.
            $outDir = New-Item -ItemType Directory -Force (Join-Path $PSScriptRoot 'bin')
            $zip = Join-Path $outDir "HttpCache-$version.zip"
            $files = Get-ChildItem $moduleDir -Force | Where-Object Name -ne '.gitkeep'
            Compress-Archive -Path $files.FullName -DestinationPath $zip -Force
            Write-Host "Packaged $zip"
        }
    }
}
