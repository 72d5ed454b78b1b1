#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
<# Statistics, health and growth; the scenario script is the one the xunit tests run. #>

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    $script:manifest = Import-TestModule
    $script:origin = Start-TestOrigin
}

AfterAll {
    Stop-TestOrigin $script:origin
}

Describe 'StatsAndHealth scenario' {
    It 'judges the health, follows the growth and groups by host' {
        $other = (New-TestUri $script:origin counter).Replace('127.0.0.1', 'localhost')
        $output = & (Join-Path $PSScriptRoot 'scenarios/StatsAndHealth.ps1') -Uri (New-TestUri $script:origin counter) -OtherHostUri $other -ModuleManifest $script:manifest

        $output | Should -Contain 'HEALTH=Healthy'
        $output | Should -Contain 'GROWTH=Linear'
        $output | Should -Contain 'GROWTH-AGAIN=Linear'
        $output | Should -Contain 'HOSTS=2'
    }
}

Describe 'Get-HttpCacheStats' {
    It 'is Critical when nothing is ever served from the cache' {
        $s = New-ScratchSession
        1..20 | ForEach-Object { $null = Invoke-CachedWebRequest (New-TestUri $script:origin counter) -Session $s }

        $stats = Get-HttpCacheStats -Session $s
        $stats.Health | Should -Be 'Critical'
        $stats.HealthReason | Should -Match 'Hit rate 0\.0%'
    }

    It 'has every counter as a property, for Format-List' {
        $stats = Get-HttpCacheStats -Session (New-ScratchSession)
        foreach ($name in 'Hits', 'Misses', 'HitRate', 'StaleServed', 'StaleRate', 'Errors', 'Entries', 'StoredBytes', 'OldestEntry', 'NewestEntry', 'Health', 'Growth') {
            $stats.PSObject.Properties.Name | Should -Contain $name
        }
    }

    It 'groups by host with entries, bytes and hits from the entries' {
        $s = New-ScratchSession
        $uri = New-TestUri $script:origin counter
        1..3 | ForEach-Object { $null = Invoke-CachedWebRequest $uri -Session $s }

        $row = Get-HttpCacheStats -Session $s -GroupBy Host
        $row.Host | Should -Be ([uri]$uri).Authority
        $row.Entries | Should -Be 1
        $row.Hits | Should -Be 2
        $row.StoredBytes | Should -BeGreaterThan 0
    }
}
