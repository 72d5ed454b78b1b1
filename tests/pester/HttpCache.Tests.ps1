#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
<#
    Pester 5 suite for users with pwsh: runs the same scenario scripts the xunit tests run out of process
    (tests/HttpCache.Commands.Tests/Cmdlets/ScenarioTests.cs), against a small local origin.

        dotnet build
        Invoke-Pester ./tests/pester
#>

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    $script:manifest = Import-TestModule
    $script:origin = Start-TestOrigin
    $script:scenarios = Join-Path $PSScriptRoot 'scenarios'
}

AfterAll {
    Stop-TestOrigin $script:origin
}

Describe 'FetchCacheRemove scenario' {
    It 'serves the second request from a SQLite cache, finds, removes and counts the entry' {
        $cache = Join-Path $TestDrive 'cache.sqlite'
        $uri = New-TestUri $script:origin counter

        $output = & (Join-Path $script:scenarios 'FetchCacheRemove.ps1') -Uri $uri -CachePath $cache -ModuleManifest $script:manifest

        $output | Should -Contain 'FIRST-FROM-CACHE=False'
        $output | Should -Contain 'SECOND-FROM-CACHE=True'
        $output | Should -Contain 'SECOND-REASON=fresh-hit'
        $output | Should -Contain 'ENTRIES-AFTER-REMOVE=0'
        $output | Should -Contain 'SESSION-HITS=1'
        $output | Should -Contain 'SESSION-MISSES=2'
        $cache | Should -Exist
    }

    # XDG_CACHE_HOME is Linux's: the test exists only there (as [UnixFact] in xunit), never as a skip in CI.
    if ($IsLinux) {
        It 'uses the shared default session when no cache path is given' {
            # XDG_CACHE_HOME moves the default cache folder on Linux; run in a child pwsh so it applies from the start.
            $xdg = Join-Path $TestDrive 'xdg'
            $uri = New-TestUri $script:origin counter
            $script = Join-Path $script:scenarios 'FetchCacheRemove.ps1'
            $env:XDG_CACHE_HOME, $saved = $xdg, $env:XDG_CACHE_HOME
            try {
                $output = Invoke-Pwsh -File $script -Uri $uri -ModuleManifest $script:manifest
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
}

Describe 'Invoke-CachedWebRequest errors' {
    It 'reports an invalid URL as InvalidUri' {
        { Invoke-CachedWebRequest -Uri 'not a url' -Session (New-ScratchSession) } |
            Should -Throw -ErrorId 'InvalidUri,HttpCache.Commands.InvokeCachedWebRequestCommand'
    }

    It 'reports a bad -ExpireAfter as a parameter binding error' {
        { New-HttpCacheSession -Backend Memory -ExpireAfter 'soon' } |
            Should -Throw -ErrorId 'ParameterArgumentTransformationError,HttpCache.Commands.NewHttpCacheSessionCommand'
    }

    It 'answers -OnlyIfCached on a miss with 504 Not Cached' {
        $response = Invoke-CachedWebRequest -Uri (New-TestUri $script:origin counter) -Session (New-ScratchSession) -OnlyIfCached -SkipHttpErrorCheck
        $response.StatusCode | Should -Be 504
        $response.Reason | Should -Be 'only-if-cached-miss'
    }
}
