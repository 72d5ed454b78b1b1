using System.Management.Automation;
using HttpCache.Commands.Tests.Infrastructure;

namespace HttpCache.Commands.Tests.Packaging;

/// <summary>module/ holds exactly what ships, and its manifest is one PowerShell accepts.</summary>
public sealed class StagedModuleTests
{
    public static TheoryData<string> RequiredFiles =>
    [
        "HttpCache.psd1",
        "HttpCache.Commands.dll",
        "HttpCache.Format.ps1xml",
        "dependencies/HttpCache.Engine.dll",
        "dependencies/HttpCache.Engine.deps.json",
        "dependencies/Microsoft.Data.Sqlite.dll",
        "dependencies/SQLitePCLRaw.core.dll",
        "dependencies/SQLitePCLRaw.provider.e_sqlite3.dll",
        "dependencies/SQLitePCLRaw.batteries_v2.dll",
        "dependencies/runtimes/linux-x64/native/libe_sqlite3.so",
        "dependencies/runtimes/linux-arm64/native/libe_sqlite3.so",
        "dependencies/runtimes/linux-musl-x64/native/libe_sqlite3.so",
        "dependencies/runtimes/osx-x64/native/libe_sqlite3.dylib",
        "dependencies/runtimes/osx-arm64/native/libe_sqlite3.dylib",
        "dependencies/runtimes/win-x64/native/e_sqlite3.dll",
        "dependencies/runtimes/win-arm64/native/e_sqlite3.dll",
    ];

    [Theory]
    [MemberData(nameof(RequiredFiles))]
    public void StagedFolderHasRequiredFile(string relativePath)
    {
        var path = Path.Combine(RepoPaths.ModuleDirectory, relativePath);
        Assert.True(File.Exists(path), $"module/{relativePath} is missing");
        Assert.True(new FileInfo(path).Length > 0, $"module/{relativePath} is empty");
    }

    [Theory]
    // Beside the Commands assembly, these would load in the default context (PowerShell and
    // LoadFrom probe the module's own folder) and defeat the isolation.
    [InlineData("HttpCache.Engine.dll")]
    [InlineData("Microsoft.Data.Sqlite.dll")]
    [InlineData("SQLitePCLRaw.core.dll")]
    // PowerShell's own assembly must never ship: the host's is the only one.
    [InlineData("System.Management.Automation.dll")]
    [InlineData("dependencies/System.Management.Automation.dll")]
    public void StagedFolderDoesNotHoldFile(string relativePath)
    {
        Assert.False(File.Exists(Path.Combine(RepoPaths.ModuleDirectory, relativePath)), $"module/{relativePath} must not ship");
    }

    [Fact]
    public void StagedFolderHoldsNoSymbolsOrBuildLeftovers()
    {
        var unexpected = Directory.EnumerateFiles(RepoPaths.ModuleDirectory, "*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".pdb", StringComparison.OrdinalIgnoreCase)
                || f.EndsWith(".runtimeconfig.json", StringComparison.OrdinalIgnoreCase)
                || Path.GetFileName(f).Equals("HttpCache.Commands.deps.json", StringComparison.OrdinalIgnoreCase))
            .Select(f => Path.GetRelativePath(RepoPaths.ModuleDirectory, f))
            .ToArray();
        Assert.Empty(unexpected);
    }

    [Fact]
    public async Task StagedManifestPassesTestModuleManifest()
    {
        var result = await PowerShellRunner.RunAsync(
            "Test-ModuleManifest -Path $manifest",
            new PowerShellRunOptions
            {
                ImportModule = false,
                Variables = new Dictionary<string, object?> { ["manifest"] = RepoPaths.ModuleManifest },
            });

        result.AssertSuccess();
        var module = result.Single<PSModuleInfo>();
        Assert.Equal("HttpCache", module.Name);
        Assert.Equal(ExpectedModuleVersion(), module.Version);
        Assert.Equal("HttpCache.Commands.dll", Path.GetFileName(module.RootModule));
        Assert.Equal(new Version(7, 4), module.PowerShellVersion);
        Assert.Equal(["Core"], module.CompatiblePSEditions);
        Assert.NotEqual(Guid.Empty, module.Guid);
        Assert.False(string.IsNullOrWhiteSpace(module.Author));
        Assert.False(string.IsNullOrWhiteSpace(module.Description));
        Assert.Contains("HttpCache.Format.ps1xml", module.ExportedFormatFiles.Select(Path.GetFileName));
        Assert.NotEmpty(module.Tags);
    }

    [Fact]
    public async Task StagedManifestNamesEveryCmdlet()
    {
        // Test-ModuleManifest reads but does not check CmdletsToExport, so the list is checked here, against the
        // cmdlets the assembly itself holds (imported bare, a binary module exports every cmdlet it defines):
        // a cmdlet added to the code but not to the manifest fails this test, whoever adds it.
        var result = await PowerShellRunner.RunAsync(
            """
            (Import-Module $dll -PassThru).ExportedCmdlets.Keys | ForEach-Object { "assembly $_" }
            (Test-ModuleManifest -Path $manifest).ExportedCmdlets.Keys | ForEach-Object { "manifest $_" }
            """,
            new PowerShellRunOptions
            {
                ImportModule = false,
                Variables = new Dictionary<string, object?>
                {
                    ["dll"] = Path.Combine(RepoPaths.ModuleDirectory, "HttpCache.Commands.dll"),
                    ["manifest"] = RepoPaths.ModuleManifest,
                },
            });

        result.AssertSuccess();
        var lines = result.Output.Select(o => o.ToString()).ToList();
        string[] Listed(string by) => lines.Where(l => l.StartsWith(by + " ", StringComparison.Ordinal)).Select(l => l[(by.Length + 1)..]).Order(StringComparer.Ordinal).ToArray();
        var inAssembly = Listed("assembly");

        Assert.Contains("Invoke-CachedRestMethod", inAssembly);
        Assert.True(inAssembly.Length >= 7, string.Join(", ", inAssembly));
        Assert.Equal(inAssembly, Listed("manifest"));
    }

    /// <summary>Directory.Build.props' Version without its prerelease suffix: what ModuleVersion holds.</summary>
    internal static Version ExpectedModuleVersion()
    {
        var version = RepoPaths.BuildVersion;
        var cut = version.IndexOfAny(['-', '+']);
        return Version.Parse(cut < 0 ? version : version[..cut]);
    }
}
