#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
<# Drop-in caching: Enable-HttpCache, Use-HttpCache, Disable-HttpCache and Get-HttpCacheSession under real pwsh. #>

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    $script:manifest = Import-TestModule
    $script:origin = Start-TestOrigin
}

AfterAll {
    Disable-HttpCache
    Stop-TestOrigin $script:origin
}

Describe 'A script written only for Invoke-RestMethod' {
    It 'is served from the cache after Enable-HttpCache, with the output of the uncached run' {
        $output = & (Join-Path $PSScriptRoot 'scenarios/DropIn.ps1') -BaseUri $script:origin.BaseUri -ModuleManifest $script:manifest

        $output | Should -Contain 'ENABLED-SESSION=drop-in-scenario'
        $output | Should -Contain 'ENABLED-SCOPE=Global'
        $output | Should -Contain 'SAME-AS-UNCACHED=True'
        $output | Should -Contain 'THREAD-JOB-SAME=True'
        $output | Should -Contain 'BLOCK-SAME=True'
        # Three users: three misses on the first cached run, every other call (4 + 4 + 4 - 3) a hit.
        $output | Should -Contain 'SESSION-MISSES=3'
        $output | Should -Contain 'SESSION-HITS=9'
        $output | Should -Contain 'BUILT-IN-AFTER=Cmdlet'
        $output | Should -Contain 'BUILT-IN-AFTER-BLOCK=Cmdlet'
    }
}

Describe 'Enable-HttpCache' {
    AfterEach { Disable-HttpCache }

    It 'answers iwr from the cache the second time' {
        $s = New-ScratchSession
        $uri = New-TestUri $script:origin counter
        Enable-HttpCache -Session $s
        $first = iwr $uri
        $second = iwr $uri

        $second.FromCache | Should -BeTrue
        $second.Content | Should -Be $first.Content
    }

    It 'sends an upload to the built-in and says why under -Verbose' {
        Enable-HttpCache -Session (New-ScratchSession)
        $file = New-Item -ItemType File -Path (Join-Path $TestDrive 'upload.txt') -Value 'x' -Force
        $verbose = Invoke-WebRequest (New-TestUri $script:origin counter) -Method Post -InFile $file.FullName -Verbose 4>&1 |
            Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }

        $verbose.Message | Should -Contain 'Invoke-WebRequest goes to the built-in Microsoft.PowerShell.Utility\Invoke-WebRequest, uncached: -InFile uploads a file; uploads are not cached (the cached twin would send them past the cache too).'
    }

    It 'keeps a -Scope Local drop-in inside the script block that made it' {
        & { Enable-HttpCache -Session (New-ScratchSession) -Scope Local; (Get-HttpCacheSession -DropIn).Scope } | Should -Be 'Local'
        (Get-HttpCacheSession -DropIn).Enabled | Should -BeFalse
    }
}

Describe 'Use-HttpCache' {
    It 'restores the enabled session after a block that throws' {
        $outer = New-HttpCacheSession -Name pester-outer -Backend Memory
        Enable-HttpCache -Session $outer
        { Use-HttpCache -Session (New-ScratchSession) { throw 'boom' } } | Should -Throw 'boom'

        (Get-HttpCacheSession -DropIn).SessionName | Should -Be 'pester-outer'
        Disable-HttpCache
        (Get-Command Invoke-RestMethod).CommandType | Should -Be 'Cmdlet'
    }

    It 'caches in ForEach-Object -Parallel runspaces that enable it themselves' {
        $s = New-ScratchSession
        $uri = New-TestUri $script:origin counter
        $null = Invoke-CachedWebRequest $uri -Session $s
        $fromCache = 1..3 | ForEach-Object -Parallel {
            Import-Module $using:manifest
            Enable-HttpCache -Session $using:s
            (Invoke-WebRequest $using:uri).FromCache
        }

        $fromCache | Should -Be @($true, $true, $true)
    }
}
