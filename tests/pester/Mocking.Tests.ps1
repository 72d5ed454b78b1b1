#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
<#
    Mocking Invoke-CachedWebRequest with a realistic HttpCache.CachedResponse-shaped object, as README's
    "Using HttpCache in your Pester tests" shows. scenarios/MockCachedResponse.ps1 is the same thing without
    Pester (the xunit tests run it), and checks that the fake has every property of the real type.
#>

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    $script:manifest = Import-TestModule

    # The code under test: a function that calls Invoke-CachedWebRequest.
    function Get-UserName {
        param([int] $Id)
        $response = Invoke-CachedWebRequest "https://api.example.com/users/$Id"
        $name = ($response.Content | ConvertFrom-Json).name
        if ($response.FromCache) { "$name (cached)" } else { $name }
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

    It 'reads the name from the answer' {
        Get-UserName -Id 1 | Should -Be 'Ada (cached)'
        Should -Invoke Invoke-CachedWebRequest -Times 1 -Exactly -ParameterFilter { $Uri -eq 'https://api.example.com/users/1' }
    }

    It 'mocks an object with every property of the real answer' {
        $fake = Invoke-CachedWebRequest 'https://api.example.com/users/1'
        foreach ($property in [HttpCache.CachedResponse].GetProperties().Name) {
            $fake.PSObject.Properties.Name | Should -Contain $property
        }
    }
}

Describe 'MockCachedResponse scenario' {
    It 'runs without Pester too' {
        $output = & (Join-Path $PSScriptRoot 'scenarios/MockCachedResponse.ps1') -ModuleManifest $script:manifest
        $output | Should -Contain 'NAME=Ada (cached)'
    }
}
