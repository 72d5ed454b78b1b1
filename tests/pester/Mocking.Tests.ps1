#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
<#
    Mocking Invoke-CachedWebRequest with a realistic HttpCache.CachedResponse-shaped object, as README's
    "Using HttpCache in your Pester tests" shows. The function under test runs against the real cmdlet and a
    local origin too, so the mock is held to what HttpCache really answers (same result, same properties).
    scenarios/MockCachedResponse.ps1 is the same thing without Pester (the xunit tests run it).
#>

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    $script:manifest = Import-TestModule
    $script:origin = Start-TestOrigin

    # The code under test: a function that calls Invoke-CachedWebRequest.
    function Get-UserName {
        param([int] $Id, [string] $BaseUri = 'https://api.example.com')
        $response = Invoke-CachedWebRequest "$BaseUri/users/$Id"
        $name = ($response.Content | ConvertFrom-Json).name
        if ($response.FromCache) { "$name (cached)" } else { $name }
    }

    # The real answers the mock imitates: the origin's, then the cache's.
    $script:session = New-HttpCacheSession -Backend Memory
    $PSDefaultParameterValues['Invoke-CachedWebRequest:Session'] = $script:session
    $script:realNames = @((Get-UserName -Id 1 -BaseUri $script:origin.BaseUri), (Get-UserName -Id 1 -BaseUri $script:origin.BaseUri))
    $script:realHit = Invoke-CachedWebRequest "$($script:origin.BaseUri)/users/1"
    $PSDefaultParameterValues.Remove('Invoke-CachedWebRequest:Session')
}

AfterAll {
    Stop-TestOrigin $script:origin
}

Describe 'Get-UserName against the real cmdlet' {
    It 'answers from the origin, then from the cache' {
        $script:realNames | Should -Be @('Ada', 'Ada (cached)')
        $script:realHit.FromCache | Should -BeTrue
        $script:realHit.Reason | Should -Be 'fresh-hit'
    }
}

Describe 'Get-UserName' {
    BeforeAll {
        Mock Invoke-CachedWebRequest {
            [pscustomobject]@{
                PSTypeName        = 'HttpCache.CachedResponse'
                Method            = 'GET'
                Uri               = $Uri
                StatusCode        = 200
                StatusDescription = 'OK'
                ReasonPhrase      = 'OK'
                Headers           = @{ 'Content-Type' = [string[]]@('application/json; charset=utf-8') }
                Content           = '{"name":"Ada"}'
                Encoding          = [System.Text.Encoding]::UTF8
                RawContent        = "HTTP/1.1 200 OK`r`n`r`n{`"name`":`"Ada`"}"
                RawContentLength  = 14L
                RawContentStream  = [System.IO.MemoryStream]::new([System.Text.Encoding]::UTF8.GetBytes('{"name":"Ada"}'))
                RelationLink      = @{}
                BaseResponse      = $null
                Links             = @()
                Images            = @()
                InputFields       = @()
                OutFile           = $null
                FromCache         = $true
                IsExpired         = $false
                CreatedAt         = (Get-Date).AddMinutes(-5)
                ExpiresAt         = (Get-Date).AddMinutes(5)
                CacheKey          = '3f2a9c1e5b7d4a6f8e0c2b4d6f8a0c1e'
                Revalidated       = $false
                Reason            = 'fresh-hit'
                StoreReason       = $null
                StaleReason       = $null
                Age               = [timespan]::FromMinutes(5)
            }
        }
    }

    It 'gives the code under test what a real cache hit gives' {
        Get-UserName -Id 1 | Should -Be $script:realNames[1]
        Should -Invoke Invoke-CachedWebRequest -Times 1 -Exactly -ParameterFilter { $Uri -eq 'https://api.example.com/users/1' }
    }

    It 'mocks an object with every property of the real answer' {
        $fake = Invoke-CachedWebRequest 'https://api.example.com/users/1'
        $fake.PSObject.TypeNames[0] | Should -Be $script:realHit.PSObject.TypeNames[0]
        $fake.Reason | Should -Be $script:realHit.Reason
        foreach ($property in $script:realHit.PSObject.Properties | Where-Object MemberType -eq 'Property') {
            $fake.PSObject.Properties.Name | Should -Contain $property.Name
        }
    }
}

Describe 'MockCachedResponse scenario' {
    It 'runs without Pester too' {
        $output = & (Join-Path $PSScriptRoot 'scenarios/MockCachedResponse.ps1') -BaseUri $script:origin.BaseUri -ModuleManifest $script:manifest
        $output | Should -Contain 'REAL=Ada|Ada (cached)'
        $output | Should -Contain 'NAME=Ada (cached)'
    }
}
