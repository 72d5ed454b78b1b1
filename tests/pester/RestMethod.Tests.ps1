#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
<# Invoke-CachedRestMethod; the scenario script is the one the xunit tests run. #>

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    $script:manifest = Import-TestModule
    $script:origin = Start-TestOrigin
}

AfterAll {
    Stop-TestOrigin $script:origin
}

Describe 'RestMethod scenario' {
    It 'turns JSON into objects and XML into a document, and caches them' {
        $output = & (Join-Path $PSScriptRoot 'scenarios/RestMethod.ps1') -JsonUri (New-TestUri $script:origin json) `
            -JsonArrayUri (New-TestUri $script:origin json-array) -XmlUri (New-TestUri $script:origin xml) -ModuleManifest $script:manifest

        $output | Should -Contain 'JSON-NAME=Ada'
        $output | Should -Contain 'SECOND-FROM-CACHE=True'
        $output | Should -Contain 'ARRAY-COUNT=3'
        $output | Should -Contain 'XML-TITLES=One,Two'
    }
}

Describe 'Invoke-CachedRestMethod' {
    It 'gives what Invoke-RestMethod gives for the same JSON' {
        $uri = New-TestUri $script:origin json
        $cached = Invoke-CachedRestMethod $uri -Session (New-ScratchSession)
        $plain = Invoke-RestMethod $uri

        $cached.name | Should -Be $plain.name
        $cached.id | Should -Be $plain.id
        $cached.tags | Should -Be $plain.tags
    }

    It 'sets -StatusCodeVariable and -ResponseVariable' {
        $s = New-ScratchSession
        $uri = New-TestUri $script:origin json
        $null = Invoke-CachedRestMethod $uri -Session $s
        $null = Invoke-CachedRestMethod $uri -Session $s -StatusCodeVariable status -ResponseVariable response

        $status | Should -Be 200
        $response.FromCache | Should -BeTrue
        $response.PSObject.TypeNames[0] | Should -Be 'HttpCache.CachedResponse'
    }

    It 'fails on an error status as Invoke-RestMethod does' {
        { Invoke-CachedRestMethod (New-TestUri $script:origin 'status/500') -Session (New-ScratchSession) } |
            Should -Throw -ErrorId 'WebCmdletWebResponseException,HttpCache.Commands.InvokeCachedRestMethodCommand'
    }
}
