#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
<# Help and tab completion; the scenario script is the one the xunit tests run. #>

BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    $null = Import-TestModule
    $script:commands = Get-Command -Module HttpCache | ForEach-Object { @{ Name = $_.Name } }
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    $script:manifest = Import-TestModule
    $script:origin = Start-TestOrigin
}

AfterAll {
    Stop-TestOrigin $script:origin
}

Describe 'HelpAndCompletion scenario' {
    It 'documents every cmdlet and completes -Uri from the cache' {
        $uri = New-TestUri $script:origin counter
        $output = & (Join-Path $PSScriptRoot 'scenarios/HelpAndCompletion.ps1') -Uri $uri -ModuleManifest $script:manifest

        $output | Should -Contain 'COMMANDS=11'
        $output | Should -Contain 'ABOUT=True'
        $output | Should -Contain "COMPLETED='$uri'"
    }
}

Describe 'Get-Help <Name> -Full' -ForEach $script:commands {
    BeforeAll { $script:help = Get-Help $Name -Full }

    It 'has a synopsis and a description' {
        $script:help.Synopsis | Should -Not -BeNullOrEmpty
        $script:help.description | Should -Not -BeNullOrEmpty
    }

    It 'has at least three examples' {
        @($script:help.examples.example).Count | Should -BeGreaterOrEqual 3
    }

    It 'describes every parameter' {
        $common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
        foreach ($parameter in (Get-Command $Name).Parameters.Keys | Where-Object { $_ -notin $common }) {
            $described = $script:help.parameters.parameter | Where-Object name -eq $parameter
            $described | Should -Not -BeNullOrEmpty -Because "-$parameter needs help"
            ($described.description | ForEach-Object Text) -join '' | Should -Not -BeNullOrEmpty
        }
    }
}

Describe 'about_HttpCache' {
    It 'is found by Get-Help' {
        Get-Help about_HttpCache | Out-String | Should -Match 'SHORT DESCRIPTION'
    }
}
