#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
<#
    Pester 5 suite for users with pwsh: runs the same scenario scripts the xunit tests run out of process
    (tests/HttpCache.Commands.Tests/Cmdlets/ScenarioTests.cs), against a small local origin.

        dotnet build
        Invoke-Pester ./tests/pester
#>

BeforeAll {
    $script:manifest = if ($env:HTTPCACHE_MODULE_MANIFEST) { $env:HTTPCACHE_MODULE_MANIFEST } else {
        Join-Path $PSScriptRoot '../../module/HttpCache.psd1' | Resolve-Path | ForEach-Object Path
    }
    $script:scenarios = Join-Path $PSScriptRoot 'scenarios'

    # A tiny origin: every answer is 200 with a counter body, so a test tells a stored answer from a new one.
    $script:listener = [System.Net.HttpListener]::new()
    $port = Get-Random -Minimum 20000 -Maximum 60000
    $script:listener.Prefixes.Add("http://127.0.0.1:$port/")
    $script:listener.Start()
    $script:origin = "http://127.0.0.1:$port"
    $script:server = Start-ThreadJob -ArgumentList $script:listener -ScriptBlock {
        param($listener)
        $count = 0
        while ($listener.IsListening) {
            try { $context = $listener.GetContext() } catch { break }
            $count++
            $bytes = [System.Text.Encoding]::UTF8.GetBytes("$count")
            $context.Response.ContentType = 'text/plain; charset=utf-8'
            $context.Response.OutputStream.Write($bytes, 0, $bytes.Length)
            $context.Response.Close()
        }
    }
}

AfterAll {
    $script:listener.Stop()
    $script:server | Remove-Job -Force
}

Describe 'FetchCacheRemove scenario' {
    It 'serves the second request from a SQLite cache, finds, removes and counts the entry' {
        $cache = Join-Path $TestDrive 'cache.sqlite'
        $uri = "$script:origin/fetch-$(New-Guid)"

        $output = & (Join-Path $script:scenarios 'FetchCacheRemove.ps1') -Uri $uri -CachePath $cache -ModuleManifest $script:manifest

        $output | Should -Contain 'FIRST-FROM-CACHE=False'
        $output | Should -Contain 'SECOND-FROM-CACHE=True'
        $output | Should -Contain 'SECOND-REASON=fresh-hit'
        $output | Should -Contain 'ENTRIES-AFTER-REMOVE=0'
        $output | Should -Contain 'SESSION-HITS=1'
        $output | Should -Contain 'SESSION-MISSES=2'
        $cache | Should -Exist
    }

    It 'uses the shared default session when no cache path is given' -Skip:(-not $IsLinux) {
        # XDG_CACHE_HOME moves the default cache folder on Linux; run in a child pwsh so it applies from the start.
        $xdg = Join-Path $TestDrive 'xdg'
        $uri = "$script:origin/default-$(New-Guid)"
        $script = Join-Path $script:scenarios 'FetchCacheRemove.ps1'
        $env:XDG_CACHE_HOME, $saved = $xdg, $env:XDG_CACHE_HOME
        try {
            $output = pwsh -NoProfile -NonInteractive -File $script -Uri $uri -ModuleManifest $script:manifest
            $LASTEXITCODE | Should -Be 0
        }
        finally {
            $env:XDG_CACHE_HOME = $saved
        }

        $output | Should -Contain 'SESSION=default'
        $output | Should -Contain "LOCATION=$(Join-Path $xdg 'HttpCache/http_cache.sqlite')"
        Join-Path $xdg 'HttpCache/http_cache.sqlite' | Should -Exist
    }
}

Describe 'Invoke-CachedWebRequest errors' {
    BeforeAll { Import-Module $script:manifest -Force }

    It 'reports an invalid URL as InvalidUri' {
        { Invoke-CachedWebRequest -Uri 'not a url' -Session (New-HttpCacheSession -Backend Memory) } |
            Should -Throw -ErrorId 'InvalidUri,HttpCache.Commands.InvokeCachedWebRequestCommand'
    }

    It 'reports a bad -ExpireAfter as a parameter binding error' {
        { New-HttpCacheSession -Backend Memory -ExpireAfter 'soon' } |
            Should -Throw -ErrorId 'ParameterArgumentTransformationError,HttpCache.Commands.NewHttpCacheSessionCommand'
    }

    It 'answers -OnlyIfCached on a miss with 504 Not Cached' {
        $response = Invoke-CachedWebRequest -Uri "$script:origin/never-$(New-Guid)" -Session (New-HttpCacheSession -Backend Memory) -OnlyIfCached -SkipHttpErrorCheck
        $response.StatusCode | Should -Be 504
        $response.Reason | Should -Be 'only-if-cached-miss'
    }
}
