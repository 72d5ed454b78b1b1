using HttpCache.Commands.Tests.Infrastructure;

namespace HttpCache.Commands.Tests.Packaging;

/// <summary>
/// The staged module, imported by a fresh host process, loads the engine in its own load context and
/// finds native SQLite in dependencies/runtimes/&lt;rid&gt;/native/ (design pitfalls 1 and 3). Only a
/// fresh process proves it: this test process's bin folder and load contexts would hide a bug.
/// </summary>
public sealed class DependencyIsolationTests
{
    // Core commands only (no Select-Object, Write-Host…): report as KEY=value lines.
    // The engine is reached the way the cmdlets' compile-time references reach it: a request of the
    // default context, answered by the module's Resolving handler.
    private const string IsolationScenario = """
        $ErrorActionPreference = 'Stop'
        $module = Import-Module $env:HTTPCACHE_MODULE_MANIFEST -PassThru
        "MODULE-VERSION=$($module.Version)"
        $default = [System.Runtime.Loader.AssemblyLoadContext]::Default
        $commands = [System.AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'HttpCache.Commands' }
        "COMMANDS-CONTEXT=$([System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($commands[0]).Name)"

        $engine = $default.LoadFromAssemblyName([System.Reflection.AssemblyName]::new('HttpCache.Engine'))
        $context = [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($engine)
        "ENGINE-CONTEXT=$($context.Name)"
        "ENGINE-PATH=$($engine.Location)"
        $byName = @([System.Runtime.Loader.AssemblyLoadContext]::All | Where-Object { $_.Name -eq 'HttpCache' })
        "CONTEXTS-NAMED-HTTPCACHE=$($byName.Count)"

        # Microsoft.Data.Sqlite as the engine sees it; its static constructor runs
        # SQLitePCL.Batteries_V2.Init(), whose DllImport of e_sqlite3 is what used to fail.
        $sqlite = $context.LoadFromAssemblyName([System.Reflection.AssemblyName]::new('Microsoft.Data.Sqlite'))
        "SQLITE-ASSEMBLY-PATH=$($sqlite.Location)"
        $connectionType = $sqlite.GetType('Microsoft.Data.Sqlite.SqliteConnection', $true)
        $connection = [System.Activator]::CreateInstance($connectionType, [object[]]@('Data Source=:memory:'))
        try {
            $connection.Open()
            $command = $connection.CreateCommand()
            $command.CommandText = 'SELECT sqlite_version()'
            "SQLITE-VERSION=$($command.ExecuteScalar())"
        }
        finally {
            $connection.Dispose()
        }

        $native = @([System.Diagnostics.Process]::GetCurrentProcess().Modules | Where-Object { $_.ModuleName -like '*e_sqlite3*' } | ForEach-Object { $_.FileName })
        "NATIVE-PATH=$($native -join ';')"

        $defaultNames = @($default.Assemblies | ForEach-Object { $_.GetName().Name })
        foreach ($name in 'HttpCache.Engine', 'Microsoft.Data.Sqlite', 'SQLitePCLRaw.core', 'SQLitePCLRaw.batteries_v2', 'SQLitePCLRaw.provider.e_sqlite3') {
            "IN-DEFAULT-$name=$($defaultNames -contains $name)"
        }
        """;

    private static readonly Lazy<Task<ProcessResult>> s_isolationRun = new(() => PwshProcess.RunCommandAsync(IsolationScenario));

    private static string Dependencies => Path.Combine(RepoPaths.ModuleDirectory, "dependencies");

    [Fact]
    public async Task NativeSqliteLoadsFromTheStagedFolder()
    {
        var run = (await s_isolationRun.Value).AssertSuccess();

        var version = run.Value("SQLITE-VERSION");
        Assert.True(version is not null && version.StartsWith("3.", StringComparison.Ordinal), "no sqlite_version() in the output" + Environment.NewLine + run);

        // The library the process mapped is the staged one, not one from some other folder.
        var native = run.Value("NATIVE-PATH");
        Assert.False(string.IsNullOrEmpty(native), "e_sqlite3 is not among the process's modules" + Environment.NewLine + run);
        foreach (var path in native.Split(';'))
        {
            Assert.StartsWith(Path.Combine(Dependencies, "runtimes") + Path.DirectorySeparatorChar, Path.GetFullPath(path));
        }
    }

    [Fact]
    public async Task EngineLoadsInTheModulesOwnContext()
    {
        var run = (await s_isolationRun.Value).AssertSuccess();

        Assert.Equal("Default", run.Value("COMMANDS-CONTEXT"));
        Assert.Equal("HttpCache", run.Value("ENGINE-CONTEXT"));
        Assert.Equal("1", run.Value("CONTEXTS-NAMED-HTTPCACHE"));
        Assert.Equal(Path.Combine(Dependencies, "HttpCache.Engine.dll"), run.Value("ENGINE-PATH"));
        Assert.Equal(Path.Combine(Dependencies, "Microsoft.Data.Sqlite.dll"), run.Value("SQLITE-ASSEMBLY-PATH"));
        Assert.Equal(StagedModuleTests.ExpectedModuleVersion().ToString(), run.Value("MODULE-VERSION"));
    }

    [Theory]
    [InlineData("HttpCache.Engine")]
    [InlineData("Microsoft.Data.Sqlite")]
    [InlineData("SQLitePCLRaw.core")]
    [InlineData("SQLitePCLRaw.batteries_v2")]
    [InlineData("SQLitePCLRaw.provider.e_sqlite3")]
    public async Task DependencyIsNotInTheDefaultContext(string assemblyName)
    {
        var run = (await s_isolationRun.Value).AssertSuccess();
        Assert.Equal("False", run.Value("IN-DEFAULT-" + assemblyName));
    }

    [Fact]
    public async Task NativeSqliteLoadsWithoutTheDepsJson()
    {
        // A host without hostpolicy cannot use the deps.json resolver; the load context's own probe
        // of runtimes/<rid>/native/ must then find the library. A copy of module/ without the
        // deps.json stands in for that host.
        var copy = Path.Combine(Path.GetTempPath(), $"httpcache-module-{Guid.NewGuid():N}");
        CopyDirectory(RepoPaths.ModuleDirectory, copy);
        File.Delete(Path.Combine(copy, "dependencies", "HttpCache.Engine.deps.json"));
        try
        {
            var run = (await PwshProcess.RunCommandAsync(
                IsolationScenario,
                environment: new Dictionary<string, string?> { [PwshProcess.ModuleManifestVariable] = Path.Combine(copy, "HttpCache.psd1") })).AssertSuccess();

            Assert.StartsWith("3.", run.Value("SQLITE-VERSION"), StringComparison.Ordinal);
            Assert.StartsWith(Path.Combine(copy, "dependencies", "runtimes") + Path.DirectorySeparatorChar, run.Value("NATIVE-PATH"), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(copy, recursive: true);
        }
    }

    [Fact]
    public async Task CmdletsOpenASqliteCacheThroughTheIsolatedEngine()
    {
        // The real path: cmdlets' compile-time references resolve the engine, which opens SQLite.
        var folder = Path.Combine(Path.GetTempPath(), $"httpcache-sqlite-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        try
        {
            var run = (await PwshProcess.RunCommandAsync("""
                Import-Module $env:HTTPCACHE_MODULE_MANIFEST
                $session = New-HttpCacheSession -Backend Sqlite -Path $env:HTTPCACHE_TEST_FOLDER
                $null = Get-HttpCacheStats -Session $session
                $defaultNames = @([System.Runtime.Loader.AssemblyLoadContext]::Default.Assemblies | ForEach-Object { $_.GetName().Name })
                "IN-DEFAULT-ENGINE=$($defaultNames -contains 'HttpCache.Engine')"
                "IN-DEFAULT-SQLITE=$($defaultNames -contains 'Microsoft.Data.Sqlite')"
                $native = @([System.Diagnostics.Process]::GetCurrentProcess().Modules | Where-Object { $_.ModuleName -like '*e_sqlite3*' } | ForEach-Object { $_.FileName })
                "NATIVE-PATH=$($native -join ';')"
                """,
                environment: new Dictionary<string, string?> { ["HTTPCACHE_TEST_FOLDER"] = folder })).AssertSuccess();

            Assert.Equal("False", run.Value("IN-DEFAULT-ENGINE"));
            Assert.Equal("False", run.Value("IN-DEFAULT-SQLITE"));
            Assert.StartsWith(Path.Combine(Dependencies, "runtimes") + Path.DirectorySeparatorChar, run.Value("NATIVE-PATH"), StringComparison.Ordinal);
            Assert.NotEmpty(Directory.GetFiles(folder)); // the cache file was created
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task ModuleImportsAgainAfterRemoval()
    {
        // OnRemove unhooks the resolver; a second import must hook it again and reuse the context.
        var run = (await PwshProcess.RunCommandAsync("""
            Import-Module $env:HTTPCACHE_MODULE_MANIFEST
            Remove-Module HttpCache
            Import-Module $env:HTTPCACHE_MODULE_MANIFEST
            $engine = [System.Runtime.Loader.AssemblyLoadContext]::Default.LoadFromAssemblyName([System.Reflection.AssemblyName]::new('HttpCache.Engine'))
            "ENGINE-CONTEXT=$([System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($engine).Name)"
            """)).AssertSuccess();

        Assert.Equal("HttpCache", run.Value("ENGINE-CONTEXT"));
    }

    [Fact]
    public async Task InProcessImportAlsoIsolatesTheEngine()
    {
        // The in-process runner (what cmdlet tests use) must see the same arrangement; this test
        // assembly deliberately has no engine of its own to load instead.
        var result = await PowerShellRunner.RunAsync("""
            $engine = [System.Runtime.Loader.AssemblyLoadContext]::Default.LoadFromAssemblyName([System.Reflection.AssemblyName]::new('HttpCache.Engine'))
            [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($engine).Name
            $engine.Location
            """);

        result.AssertSuccess();
        Assert.Equal(["HttpCache", Path.Combine(Dependencies, "HttpCache.Engine.dll")], result.BaseOutput.Select(o => o.ToString()));
        Assert.DoesNotContain(AppDomain.CurrentDomain.GetAssemblies(), a => a.GetName().Name == "HttpCache.Engine" && System.Runtime.Loader.AssemblyLoadContext.GetLoadContext(a) == System.Runtime.Loader.AssemblyLoadContext.Default);
    }

    private static void CopyDirectory(string source, string destination)
    {
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(destination, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
