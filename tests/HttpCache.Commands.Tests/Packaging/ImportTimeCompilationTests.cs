using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using HttpCache.Commands.Tests.Infrastructure;
using HttpCache.Testing;

namespace HttpCache.Commands.Tests.Packaging;

/// <summary>
/// Import-Module starts a background thread that compiles every method marked AggressiveOptimization (the request
/// path's) before a script reaches it. It must compile all of them, never get in the way of a script that calls the
/// cmdlets at once, and never fail an import, not even of a broken install. The staged module in a fresh pwsh.
/// </summary>
public sealed class ImportTimeCompilationTests(OriginFixture fixture) : IClassFixture<OriginFixture>
{
    // The internal task the import starts, read by reflection from the script.
    private const string WaitForCompilation =
        """
        $assembly = (Get-Command Invoke-CachedWebRequest).ImplementingType.Assembly
        $run = $assembly.GetType('HttpCache.Commands.Loading.HotPathCompiler', $true).GetProperty('Run', [Reflection.BindingFlags]'NonPublic,Static').GetValue($null)
        if ($null -eq $run) { throw 'the import started no compilation' }
        if (-not $run.Wait([TimeSpan]::FromSeconds(60))) { throw 'the compilation did not finish within 60 s' }
        "COMPILED=$($run.Result.Compiled)"
        "FAILED=$($run.Result.Failed.Count)"
        $run.Result.Failed | ForEach-Object { "FAILURE=$_" }
        """;

    private readonly TestOrigin origin = fixture.Origin;

    [Fact]
    public async Task A_script_that_calls_at_once_is_served_and_every_marked_method_is_compiled()
    {
        var path = origin.NewPath("first");
        origin.Map(path, async context =>
        {
            context.Response.Headers.CacheControl = "max-age=3600";
            context.Response.ContentType = "application/json";
            await context.Response.Body.WriteAsync("{\"first\":true}"u8.ToArray());
        });
        var url = origin.Url(path).AbsoluteUri;

        // The cmdlets run while the compilation may still be going: a miss, then a hit of the same URL.
        var run = await PwshProcess.RunCommandAsync(
            $$"""
            Import-Module $env:HTTPCACHE_MODULE_MANIFEST
            $s = New-HttpCacheSession -Backend Memory
            $miss = Invoke-CachedWebRequest -Uri '{{url}}' -Session $s
            $hit = Invoke-CachedWebRequest -Uri '{{url}}' -Session $s
            "ANSWERS=$($miss.Content) $($hit.Content) $($hit.FromCache)"
            {{WaitForCompilation}}
            """);

        run.AssertSuccess();
        Assert.Equal("{\"first\":true} {\"first\":true} True", run.Value("ANSWERS"));
        Assert.True(run.Value("FAILED") == "0", run.ToString());
        Assert.Equal(MarkedMethodCount(), int.Parse(run.Value("COMPILED")!, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task A_module_without_its_engine_still_imports_and_its_first_cmdlet_says_what_is_missing()
    {
        using var temp = new TempDirectory();
        var broken = temp.File("HttpCache");
        CopyDirectory(RepoPaths.ModuleDirectory, broken);
        File.Delete(Path.Combine(broken, "dependencies", "HttpCache.Engine.dll"));

        var run = await PwshProcess.RunCommandAsync(
            $$"""
            $ErrorActionPreference = 'Stop'
            Import-Module '{{Path.Combine(broken, "HttpCache.psd1")}}'
            "IMPORTED=yes"
            {{WaitForCompilation}}
            try { $null = New-HttpCacheSession -Backend Memory; "SESSION=made" } catch { "SESSION=$(($_.Exception.Message, $_.Exception.InnerException.Message) -join ' ' -replace '\r?\n', ' ')" }
            """);

        run.AssertSuccess();
        Assert.Equal("yes", run.Value("IMPORTED"));
        // What needs the engine is left to its first call; the compilation itself ran to its end.
        Assert.NotEqual("0", run.Value("FAILED"));
        Assert.All(run.OutputLines.Where(line => line.StartsWith("FAILURE=", StringComparison.Ordinal)), line => Assert.Contains("HttpCache.Engine", line, StringComparison.Ordinal));
        // As without the compilation: the load error, with the loader's own words inside it.
        Assert.Contains("is missing from", run.Value("SESSION"), StringComparison.Ordinal);
    }

    /// <summary>The marked methods of the staged assemblies, read from their metadata (nothing loaded): each one the import must compile.</summary>
    private static int MarkedMethodCount() =>
        MarkedMethods(Path.Combine(RepoPaths.ModuleDirectory, "HttpCache.Commands.dll"))
        + MarkedMethods(Path.Combine(RepoPaths.ModuleDirectory, "dependencies", "HttpCache.Engine.dll"));

    private static int MarkedMethods(string assemblyPath)
    {
        using var stream = File.OpenRead(assemblyPath);
        using var pe = new PEReader(stream);
        var reader = pe.GetMetadataReader();
        var count = 0;
        foreach (var typeHandle in reader.TypeDefinitions)
        {
            var type = reader.GetTypeDefinition(typeHandle);
            if (type.GetGenericParameters().Count > 0 || DeclaringTypeIsGeneric(reader, type))
            {
                continue;
            }

            foreach (var methodHandle in type.GetMethods())
            {
                var method = reader.GetMethodDefinition(methodHandle);
                if ((method.ImplAttributes & MethodImplAttributes.AggressiveOptimization) != 0
                    && (method.Attributes & MethodAttributes.Abstract) == 0
                    && method.GetGenericParameters().Count == 0
                    && reader.GetString(method.Name) != ".cctor")
                {
                    count++;
                }
            }
        }

        return count;
    }

    private static bool DeclaringTypeIsGeneric(MetadataReader reader, TypeDefinition type)
    {
        for (var declaring = type.GetDeclaringType(); !declaring.IsNil; declaring = reader.GetTypeDefinition(declaring).GetDeclaringType())
        {
            if (reader.GetTypeDefinition(declaring).GetGenericParameters().Count > 0)
            {
                return true;
            }
        }

        return false;
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var directory in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(directory.Replace(from, to, StringComparison.Ordinal));
        }

        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            File.Copy(file, file.Replace(from, to, StringComparison.Ordinal));
        }
    }
}
