#Requires -Version 7.4
<#
.SYNOPSIS
    Builds, tests and packages the HttpCache module: the one entry point for users and CI.
.DESCRIPTION
    Runs under any pwsh 7.4+; on a machine with only the .NET SDK, the repository's own pwsh does it:
    dotnet tool restore, then dotnet pwsh ./build.ps1 -Task Test.

    Test runs the xunit suites (dotnet test) and then every Pester suite in tests/pester under Pester 5.9.1,
    restored from NuGet by build/Pester/Pester.csproj. Both always run; the task fails when either has a failure.
    With -ResultsDirectory, dotnet test writes a .trx there and Pester its NUnit XML (pester.xml) and a
    one-line pester-counts.txt ("passed failed skipped total"), which .ci/run adds to the xunit totals.
.EXAMPLE
    ./build.ps1                      # Build (Release): stages module/
    ./build.ps1 -Task Test           # Build, dotnet test, then the Pester suites
    ./build.ps1 -Task Pester         # Build, then the Pester suites only
    ./build.ps1 -Task Package        # Build, then zip module/ into bin/HttpCache-<version>.zip
    ./build.ps1 -Task Benchmark      # Build, then the cmdlet-level benchmark (never in CI; options: run the script itself)
    ./build.ps1 -Task LargeBodyBenchmark  # Build, then 1 GiB through -OutFile (never in CI; needs ~6 GiB free in the temp folder)
    Import-Module ./module/HttpCache.psd1
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Pester', 'Package', 'Benchmark', 'LargeBodyBenchmark')]
    [string[]] $Task = 'Build',

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release',

    # Where test results go (.trx, pester.xml, pester-counts.txt); none are written when omitted.
    [string] $ResultsDirectory
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$solution = Join-Path $PSScriptRoot 'HttpCache.sln'
$moduleDir = Join-Path $PSScriptRoot 'module'
$pesterProject = Join-Path $PSScriptRoot 'build/Pester/Pester.csproj'
if ($ResultsDirectory) {
    $ResultsDirectory = (New-Item -ItemType Directory -Force $ResultsDirectory).FullName
}

function Invoke-Dotnet {
    & dotnet @args | Out-Host
    if ($LASTEXITCODE -ne 0) { throw "dotnet $($args -join ' ') failed with exit code $LASTEXITCODE" }
}

function Import-Pester {
    <# Restores Pester from NuGet (build/Pester/Pester.csproj) and imports that exact version by path. #>
    Invoke-Dotnet restore $pesterProject --verbosity quiet
    $properties = & dotnet msbuild $pesterProject -getProperty:NuGetPackageRoot -getProperty:PesterVersion | ConvertFrom-Json
    if ($LASTEXITCODE -ne 0) { throw "Could not read where NuGet put Pester (exit code $LASTEXITCODE)." }
    $version = $properties.Properties.PesterVersion
    $manifest = Join-Path $properties.Properties.NuGetPackageRoot "pester/$version/tools/Pester.psd1"
    if (-not (Test-Path $manifest)) { throw "Pester $version was restored, but '$manifest' is not there." }
    Import-Module $manifest -RequiredVersion $version -Force -Global
}

function Invoke-PesterSuites {
    <# Every tests/pester/*.Tests.ps1; returns the failed count (writes the counts file for CI). #>
    Import-Pester
    $config = New-PesterConfiguration
    $config.Run.Path = Join-Path $PSScriptRoot 'tests/pester'
    $config.Run.PassThru = $true
    $config.Output.Verbosity = 'Normal'
    if ($ResultsDirectory) {
        $config.TestResult.Enabled = $true
        $config.TestResult.OutputFormat = 'NUnitXml'
        $config.TestResult.OutputPath = Join-Path $ResultsDirectory 'pester.xml'
    }

    # The suites import the staged module, not whatever HttpCache a PSModulePath offers.
    $env:HTTPCACHE_MODULE_MANIFEST, $savedManifest = (Join-Path $moduleDir 'HttpCache.psd1'), $env:HTTPCACHE_MODULE_MANIFEST
    try {
        $result = Invoke-Pester -Configuration $config
    }
    finally {
        $env:HTTPCACHE_MODULE_MANIFEST = $savedManifest
    }

    # A container that failed to run (an error in BeforeAll, a parse error) has no failed test of its own.
    $failed = $result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount
    Write-Host "Pester: Passed: $($result.PassedCount), Failed: $failed, Skipped: $($result.SkippedCount), Total: $($result.TotalCount)"
    if ($ResultsDirectory) {
        "$($result.PassedCount) $failed $($result.SkippedCount) $($result.TotalCount)" |
            Set-Content -Path (Join-Path $ResultsDirectory 'pester-counts.txt') -Encoding utf8NoBOM
    }

    $failed
}

foreach ($step in $Task) {
    switch ($step) {
        'Build' {
            # Building the Commands project stages module/ (see StageModule in HttpCache.Commands.csproj).
            Invoke-Dotnet build $solution -c $Configuration
        }
        'Test' {
            # The out-of-process tests run the pwsh that .config/dotnet-tools.json pins.
            Invoke-Dotnet tool restore
            Invoke-Dotnet build $solution -c $Configuration
            $loggers = if ($ResultsDirectory) { '--logger', 'trx', '--results-directory', $ResultsDirectory } else { @() }
            # Pester runs even when an xunit test failed: one run reports every failure.
            & dotnet test $solution -c $Configuration --no-build @loggers
            $xunitExit = $LASTEXITCODE
            $pesterFailed = Invoke-PesterSuites
            if ($xunitExit -ne 0) { throw "dotnet test failed with exit code $xunitExit." }
            if ($pesterFailed -gt 0) { throw "$pesterFailed Pester test(s) failed." }
        }
        'Pester' {
            Invoke-Dotnet build $solution -c $Configuration
            $pesterFailed = Invoke-PesterSuites
            if ($pesterFailed -gt 0) { throw "$pesterFailed Pester test(s) failed." }
        }
        'Benchmark' {
            # Needs a quiet machine; see docs/performance.md, "Through the cmdlets".
            Invoke-Dotnet build $solution -c $Configuration
            & (Join-Path $PSScriptRoot 'tests/HttpCache.Benchmarks/cmdlet-bench.ps1') -ModuleManifest (Join-Path $moduleDir 'HttpCache.psd1')
        }
        'LargeBodyBenchmark' {
            # Needs a quiet machine and free disk; see docs/performance.md, "Caching a 1 GiB body".
            Invoke-Dotnet build $solution -c $Configuration
            & (Join-Path $PSScriptRoot 'tests/HttpCache.Benchmarks/large-body-bench.ps1') -ModuleManifest (Join-Path $moduleDir 'HttpCache.psd1')
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
