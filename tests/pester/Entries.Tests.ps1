#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
<#
    Entries and maintenance, as users work with them. The scenario script is the one the xunit tests run
    (tests/HttpCache.Commands.Tests/Cmdlets/PesterScenarioTests.cs); the It blocks below add Pester's own view.

        dotnet build
        Invoke-Pester ./tests/pester
#>

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    $script:manifest = Import-TestModule
    $script:origin = Start-TestOrigin
}

AfterAll {
    Stop-TestOrigin $script:origin
}

Describe 'EntryMaintenance scenario' {
    It 'filters, counts hits, resets with -WhatIf first, and removes entries, URLs and keys' {
        $uris = 1..4 | ForEach-Object { New-TestUri $script:origin counter }
        $output = & (Join-Path $PSScriptRoot 'scenarios/EntryMaintenance.ps1') -Uris $uris -NotFoundUri (New-TestUri $script:origin 'status/404') -ModuleManifest $script:manifest

        $output | Should -Contain 'ENTRIES=5'
        $output | Should -Contain 'HIT-COUNT=2'
        $output | Should -Contain 'REMOVED-BY-KEY=1'
        $output | Should -Contain 'LEFT-AFTER-WHATIF=2'
    }
}

Describe 'Get-HttpCacheEntry' {
    BeforeAll {
        $script:s = New-ScratchSession -With @{ AllowedStatusCodes = 200, 404 }
        $script:a = New-TestUri $script:origin counter
        $script:b = New-TestUri $script:origin counter
        $script:missing = New-TestUri $script:origin 'status/404'
        $null = Invoke-CachedWebRequest $script:a -Session $script:s
        $null = Invoke-CachedWebRequest $script:a -Session $script:s
        $null = Invoke-CachedWebRequest $script:b -Session $script:s
        $null = Invoke-CachedWebRequest $script:missing -Session $script:s -SkipHttpErrorCheck
    }

    It 'filters by status code' {
        (Get-HttpCacheEntry -Session $script:s -StatusCode 404).Uri | Should -Be $script:missing
    }

    It 'filters by method' {
        Get-HttpCacheEntry -Session $script:s -Method GET | Should -HaveCount 3
        Get-HttpCacheEntry -Session $script:s -Method POST | Should -BeNullOrEmpty
    }

    It 'filters by age' {
        Get-HttpCacheEntry -Session $script:s -NewerThan '01:00:00' | Should -HaveCount 3
        Get-HttpCacheEntry -Session $script:s -OlderThan '01:00:00' | Should -BeNullOrEmpty
    }

    It 'says how often each entry was served' {
        (Get-HttpCacheEntry -Session $script:s -Uri $script:a).HitCount | Should -Be 1
        (Get-HttpCacheEntry -Session $script:s -Uri $script:b).HitCount | Should -Be 0
    }

    It 'reports a literal URL that matches nothing as EntryNotFound' {
        { Get-HttpCacheEntry -Session $script:s -Uri 'http://nowhere.invalid/x' -ErrorAction Stop } |
            Should -Throw -ErrorId 'EntryNotFound,HttpCache.Commands.GetHttpCacheEntryCommand'
    }
}

Describe 'Remove-HttpCacheEntry' {
    BeforeEach {
        $script:s = New-ScratchSession
        $script:uris = 1..3 | ForEach-Object { New-TestUri $script:origin counter }
        $script:uris | Invoke-CachedWebRequest -Session $script:s | Out-Null
    }

    It 'removes nothing with -WhatIf' {
        Get-HttpCacheEntry -Session $script:s | Remove-HttpCacheEntry -WhatIf
        Get-HttpCacheEntry -Session $script:s | Should -HaveCount 3
    }

    It 'passes removed entries through with -PassThru' {
        $removed = $script:uris[0] | Remove-HttpCacheEntry -Session $script:s -PassThru
        $removed.Uri | Should -Be $script:uris[0]
        $removed.PSObject.TypeNames[0] | Should -Be 'HttpCache.CacheEntry'
    }

    It 'removes by key from the pipeline' {
        (Get-HttpCacheEntry -Session $script:s -Uri $script:uris[1]).Key | Remove-HttpCacheEntry -Session $script:s
        (Get-HttpCacheEntry -Session $script:s).Uri | Should -Not -Contain $script:uris[1]
    }

    It 'removes the entry that answered, piped from Invoke-CachedWebRequest' {
        Invoke-CachedWebRequest $script:uris[2] -Session $script:s | Remove-HttpCacheEntry -Session $script:s
        (Get-HttpCacheEntry -Session $script:s).Uri | Should -Not -Contain $script:uris[2]
    }

    It 'refuses to run without a filter' {
        { Remove-HttpCacheEntry -Session $script:s } | Should -Throw -ErrorId 'FilterRequired,HttpCache.Commands.RemoveHttpCacheEntryCommand'
    }
}

Describe 'Reset-HttpCacheExpiration' {
    It 'changes nothing with -WhatIf and makes entries stale for real' {
        $s = New-ScratchSession
        $null = Invoke-CachedWebRequest (New-TestUri $script:origin counter) -Session $s

        Reset-HttpCacheExpiration -ExpireAfter ExpireImmediately -Session $s -WhatIf
        Get-HttpCacheEntry -Session $s -Expired | Should -BeNullOrEmpty

        Get-HttpCacheEntry -Session $s | Reset-HttpCacheExpiration -ExpireAfter ExpireImmediately
        Get-HttpCacheEntry -Session $s -Expired | Should -HaveCount 1
    }
}
