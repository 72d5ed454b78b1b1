#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
<#
    The offline-fixture pattern of README's "Using HttpCache in your Pester tests". A real project records its
    fixture once against the real API and commits it; here the "API" is the local test origin, recorded in
    BeforeAll, and the origin is stopped before the tests run: any request that reached the network would fail.
#>

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    $script:manifest = Import-TestModule

    # Recording, once (in a real project: by hand, then `git add tests/fixtures/api.sqlite`).
    $origin = Start-TestOrigin
    $script:api = $origin.BaseUri
    $script:fixture = Join-Path $TestDrive 'fixtures/api.sqlite'
    & (Join-Path $PSScriptRoot 'scenarios/OfflineFixture.ps1') -BaseUri $script:api -FixturePath $script:fixture -Record -Module $script:manifest | Out-Null
    Stop-TestOrigin $origin

    # What every test file of the project does: a scratch copy of the committed fixture, -OnlyIfCached.
    $copy = Join-Path $TestDrive 'api-copy.sqlite'
    Copy-Item $script:fixture $copy
    $script:session = New-HttpCacheSession -Name fixtures -Path $copy -ExpireAfter NeverExpire -CacheControl:$false
    $PSDefaultParameterValues['Invoke-CachedRestMethod:Session'] = $script:session
    $PSDefaultParameterValues['Invoke-CachedRestMethod:OnlyIfCached'] = $true
}

AfterAll {
    $PSDefaultParameterValues.Remove('Invoke-CachedRestMethod:Session')
    $PSDefaultParameterValues.Remove('Invoke-CachedRestMethod:OnlyIfCached')
    if ($script:session) { $script:session.Dispose() }
}

Describe 'OfflineFixture scenario' {
    It 'replays the recording and fails loudly on an unrecorded request' {
        $output = & (Join-Path $PSScriptRoot 'scenarios/OfflineFixture.ps1') -BaseUri $script:api -FixturePath $script:fixture -Module $script:manifest

        $output | Should -Contain 'USER-1=Ada'
        $output | Should -Contain 'UNRECORDED=504 only-if-cached-miss'
    }
}

Describe 'a client of the API, tested offline' {
    It 'reads a recorded user' {
        (Invoke-CachedRestMethod "$script:api/users/2").name | Should -Be 'User 2'
    }

    It 'fails with 504 on a request nobody recorded' {
        { Invoke-CachedRestMethod "$script:api/users/42" } |
            Should -Throw -ErrorId 'WebCmdletWebResponseException,HttpCache.Commands.InvokeCachedRestMethodCommand'
    }
}
