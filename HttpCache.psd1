#
# Source manifest of the HttpCache module. The build copies it to module/HttpCache.psd1, writing the
# version from Directory.Build.props into ModuleVersion (and Prerelease for a version like 1.2.0-beta1):
# edit everything else here, never the version.
#
@{
    RootModule           = 'HttpCache.Commands.dll'
    ModuleVersion        = '0.0.0' # replaced by the build from $(Version)
    GUID                 = '0ed378c1-3865-469b-9102-92d1b2b370dc'
    Author               = 'HttpCache contributors'
    CompanyName          = 'HttpCache contributors'
    Copyright            = '(c) HttpCache contributors. All rights reserved.'
    Description          = 'HTTP caching for PowerShell: Invoke-CachedWebRequest honours RFC 9111 (Cache-Control, ETag and Last-Modified revalidation, Vary, stale-if-error, stale-while-revalidate) and stores responses in memory, SQLite, the file system or Redis.'
    CompatiblePSEditions = @('Core')
    PowerShellVersion    = '7.4'

    # The engine and its dependencies live in dependencies/ and load in the module's own
    # AssemblyLoadContext: never list them in RequiredAssemblies, which would load them in the
    # default context.
    FormatsToProcess     = @('HttpCache.Format.ps1xml')

    CmdletsToExport      = @(
        'New-HttpCacheSession'
        'Invoke-CachedWebRequest'
        'Invoke-CachedRestMethod'
        'Get-HttpCacheEntry'
        'Remove-HttpCacheEntry'
        'Reset-HttpCacheExpiration'
        'Get-HttpCacheStats'
        'Enable-HttpCache'
        'Disable-HttpCache'
        'Use-HttpCache'
        'Get-HttpCacheSession'
    )
    FunctionsToExport    = @()
    VariablesToExport    = @()
    AliasesToExport      = @()

    PrivateData          = @{
        PSData = @{
            Tags         = @('HTTP', 'Cache', 'Caching', 'RFC9111', 'WebRequest', 'REST', 'SQLite', 'Redis', 'PSEdition_Core', 'Windows', 'Linux', 'MacOS')
            # Prerelease = '' # written by the build when $(Version) has a suffix
        }
    }
}
