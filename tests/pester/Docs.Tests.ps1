#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
<#
    README.md and docs/*.md stay true as written:
    - every ```powershell block marked <!-- runnable --> runs in a fresh pwsh against the local origin, and an
      error in it fails the test (the rules such a block runs under are in CONTRIBUTING.md);
    - README's first command runs the quick start offline;
    - README's Pester snippet puts back what it sets.
#>

BeforeDiscovery {
    $root = (Resolve-Path (Join-Path $PSScriptRoot '../..')).ProviderPath
    $documents = @(Join-Path $root 'README.md') + @(Get-ChildItem (Join-Path $root 'docs') -Filter '*.md' | ForEach-Object FullName)
    $script:markers = @()
    $script:blocks = foreach ($document in $documents) {
        $lines = @(Get-Content -LiteralPath $document)
        $name = [System.IO.Path]::GetRelativePath($root, $document).Replace('\', '/')
        for ($i = 0; $i -lt $lines.Count; $i++) {
            if ($lines[$i].Trim() -ne '<!-- runnable -->') { continue }
            $script:markers += @{ Document = $name; Line = $i + 1; Next = if ($i + 1 -lt $lines.Count) { $lines[$i + 1] } else { '' } }
            if ($i + 1 -ge $lines.Count -or $lines[$i + 1].Trim() -ne '```powershell') { continue }
            $end = $i + 2
            while ($end -lt $lines.Count -and $lines[$end].Trim() -ne '```') { $end++ }
            @{ Document = $name; Line = $i + 3; Code = ($lines[($i + 2)..($end - 1)] -join "`n") }
        }
    }
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    $script:manifest = Import-TestModule
    $script:origin = Start-TestOrigin
    $script:root = (Resolve-Path (Join-Path $PSScriptRoot '../..')).ProviderPath
    $script:readme = Get-Content -Raw (Join-Path $script:root 'README.md')
}

AfterAll {
    Stop-TestOrigin $script:origin
}

Describe 'Runnable documentation' {
    It 'README marks its examples runnable' -TestCases @{ Count = @($script:blocks | Where-Object { $_.Document -eq 'README.md' }).Count } {
        $Count | Should -BeGreaterOrEqual 2
    }

    It 'has a powershell fence right after the runnable marker at <Document>:<Line>' -ForEach $script:markers {
        $Next.Trim() | Should -Be '```powershell'
    }

    It '<Document>:<Line> runs without an error' -ForEach $script:blocks {
        # Every absolute http(s) URL goes to the local origin, which answers any path (see CONTRIBUTING.md).
        $code = $Code -replace 'https?://[A-Za-z0-9.-]+(:\d+)?(?=[/''"\s]|$)', $script:origin.BaseUri
        $script = "`$ErrorActionPreference = 'Stop'`nImport-Module '$($script:manifest.Replace("'", "''"))'`n$code"
        $xdg = Join-Path $TestDrive "xdg-$([guid]::NewGuid().ToString('N'))"
        $run = Invoke-PwshScript -Script $script -WorkingDirectory $script:root -Environment @{
            XDG_CACHE_HOME            = $xdg
            HTTPCACHE_MODULE_MANIFEST = $script:manifest
        }

        $report = "exit code $($run.ExitCode)`n--- stdout ---`n$($run.StdOut)`n--- stderr ---`n$($run.StdErr)`n--- script ---`n$script"
        $run.TimedOut | Should -BeFalse -Because $report
        $run.ExitCode | Should -Be 0 -Because $report
        $run.StdErr | Should -BeNullOrEmpty -Because $report
    }
}

Describe "README's first command" {
    It 'runs the quick start offline, the second request answered from the cache' {
        $script:readme | Should -Match ([regex]::Escape('dotnet pwsh -NoProfile -File examples/quickstart.ps1'))

        $run = Invoke-PwshScript -Script "& ./examples/quickstart.ps1" -WorkingDirectory $script:root -Environment @{ XDG_CACHE_HOME = (Join-Path $TestDrive 'quickstart') }

        $run.ExitCode | Should -Be 0 -Because $run.StdErr
        $run.StdErr | Should -BeNullOrEmpty
        $run.StdOut | Should -Match 'request 1 : 200 \d+ bytes, FromCache=False \(miss-no-entry\)'
        $run.StdOut | Should -Match 'request 2 : 200 \d+ bytes, FromCache=True \(fresh-hit\)'
        Join-Path $TestDrive 'quickstart/HttpCache/http_cache.sqlite' | Should -Exist
    }
}

Describe "README's Pester snippet" {
    It 'removes in AfterAll every $PSDefaultParameterValues key it sets' {
        $section = $script:readme.Substring($script:readme.IndexOf('## Using HttpCache in your Pester tests'))
        $snippet = [regex]::Matches($section, '(?s)```powershell\n(BeforeAll \{.*?)\n```')[0].Groups[1].Value
        $set = @([regex]::Matches($snippet, "\`$PSDefaultParameterValues\['([^']+)'\]\s*=") | ForEach-Object { $_.Groups[1].Value })
        $removed = @([regex]::Matches($snippet, "\`$PSDefaultParameterValues\.Remove\('([^']+)'\)") | ForEach-Object { $_.Groups[1].Value })

        $set | Should -Not -BeNullOrEmpty
        $snippet | Should -Match 'AfterAll \{'
        foreach ($key in $set) { $removed | Should -Contain $key }
    }
}
