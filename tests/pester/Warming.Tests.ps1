#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
<# Many URLs at once with -ThrottleLimit; the scenario script is the one the xunit tests run. #>

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    $script:manifest = Import-TestModule
    $script:origin = Start-TestOrigin
}

AfterAll {
    Stop-TestOrigin $script:origin
}

Describe 'WarmCache scenario' {
    It 'fetches many URLs, reports the failing one alone, and is answered from the cache the second time' {
        $uris = 1..10 | ForEach-Object { New-TestUri $script:origin slow }
        $failing = New-TestUri $script:origin 'status/500'
        $output = & (Join-Path $PSScriptRoot 'scenarios/WarmCache.ps1') -Uris $uris -FailingUri $failing -ThrottleLimit 4 -ModuleManifest $script:manifest

        $output | Should -Contain 'ANSWERS=10'
        $output | Should -Contain 'FAILED=1'
        $output | Should -Contain "FAILED-URI=$failing"
        $output | Should -Contain 'SECOND-FROM-CACHE=10'
    }
}

Describe 'Invoke-CachedWebRequest -ThrottleLimit' {
    It 'writes one error record per failing URL and goes on' {
        $uris = @(New-TestUri $script:origin counter; New-TestUri $script:origin 'status/404'; New-TestUri $script:origin counter)
        $answers = $uris | Invoke-CachedWebRequest -Session (New-ScratchSession) -ThrottleLimit 2 -ErrorVariable failed -ErrorAction SilentlyContinue

        $answers | Should -HaveCount 2
        $failed | Should -HaveCount 1
        $failed[0].FullyQualifiedErrorId | Should -Be 'WebCmdletWebResponseException,HttpCache.Commands.InvokeCachedWebRequestCommand'
    }

    It 'refuses -OutFile' {
        { 'http://127.0.0.1:1/' | Invoke-CachedWebRequest -ThrottleLimit 2 -OutFile (Join-Path $TestDrive 'x') } |
            Should -Throw -ErrorId 'ConflictingParameters,HttpCache.Commands.InvokeCachedWebRequestCommand'
    }

    It 'revalidates expired entries piped from Get-HttpCacheEntry' {
        $s = New-ScratchSession
        $uris = 1..3 | ForEach-Object { New-TestUri $script:origin etag }
        $uris | Invoke-CachedWebRequest -Session $s | Out-Null
        Reset-HttpCacheExpiration -ExpireAfter 0 -Session $s

        $reasons = Get-HttpCacheEntry -Session $s -Expired | Invoke-CachedWebRequest -Refresh -ThrottleLimit 3 | ForEach-Object Reason
        $reasons | Should -Be @('revalidated', 'revalidated', 'revalidated')
    }
}
