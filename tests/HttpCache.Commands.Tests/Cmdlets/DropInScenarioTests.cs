using HttpCache.Commands.Tests.Infrastructure;
using HttpCache.Testing;

namespace HttpCache.Commands.Tests.Cmdlets;

/// <summary>
/// tests/pester/scenarios/DropIn.ps1 in a fresh pwsh importing the staged module: ApiReport.ps1, a script written
/// only for Invoke-RestMethod, moved onto the cache by Enable-HttpCache, by a thread job that enables it for
/// itself, and by Use-HttpCache, with the same output as its uncached run. The origin serves what the Pester
/// suite's does (tests/pester/TestHelpers.ps1, /users/&lt;id&gt;).
/// </summary>
public sealed class DropInScenarioTests(OriginFixture fixture) : IClassFixture<OriginFixture>
{
    private readonly TestOrigin origin = fixture.Origin;

    /// <summary>A base URL under which /users/1..3 answer JSON, as the Pester origin's do.</summary>
    private string Api()
    {
        var prefix = origin.NewPath("api");
        foreach (var id in new[] { 1, 2, 3 })
        {
            var name = id == 1 ? "Ada" : $"User {id}";
            origin.Respond($"{prefix}/users/{id}", 200, new Dictionary<string, string> { ["Content-Type"] = "application/json" }, $$"""{"id":{{id}},"name":"{{name}}"}""");
        }

        return origin.Url(prefix).AbsoluteUri.TrimEnd('/');
    }

    private static async Task<ProcessResult> Run(string baseUri, bool defaultSession)
    {
        using var temp = new TempDirectory();
        var script = Path.Combine(RepoPaths.Root, "tests", "pester", "scenarios", "DropIn.ps1");
        var call = $"& '{script.Replace("'", "''", StringComparison.Ordinal)}' -BaseUri '{baseUri}'{(defaultSession ? " -DefaultSession" : string.Empty)}";
        // XDG_CACHE_HOME: the default session's SQLite file lands in scratch, never in the user's cache.
        return (await PwshProcess.RunCommandAsync(call, environment: new Dictionary<string, string?> { ["XDG_CACHE_HOME"] = temp.File("xdg") })).AssertSuccess();
    }

    [Fact]
    public async Task AScriptWrittenForInvokeRestMethodIsServedFromTheCacheWithTheSameOutput()
    {
        var api = Api();
        var run = await Run(api, defaultSession: false);

        Assert.Equal("drop-in-scenario", run.Value("ENABLED-SESSION"));
        Assert.Equal("Global", run.Value("ENABLED-SCOPE"));
        Assert.Equal("True", run.Value("SAME-AS-UNCACHED"));
        Assert.Equal("True", run.Value("THREAD-JOB-SAME"));
        Assert.Equal("True", run.Value("BLOCK-SAME"));
        Assert.Equal("3", run.Value("SESSION-MISSES"));
        Assert.Equal("9", run.Value("SESSION-HITS"));
        Assert.Equal("Cmdlet", run.Value("BUILT-IN-AFTER"));
        Assert.Equal("Cmdlet", run.Value("BUILT-IN-AFTER-BLOCK"));

        // users/1 is read twice per run: the uncached run (2), the first cached run's miss (1), Use-HttpCache's
        // scratch session (1 miss, then its hit). users/2: uncached, first cached run, the block.
        var prefix = new Uri(api).AbsolutePath;
        Assert.Equal(4, origin.RequestCount($"{prefix}/users/1"));
        Assert.Equal(3, origin.RequestCount($"{prefix}/users/2"));
    }

    [XdgFact]
    public async Task WithoutSessionTheDefaultSessionAnswers()
    {
        var api = Api();
        var run = await Run(api, defaultSession: true);

        Assert.Equal("default", run.Value("ENABLED-SESSION"));
        Assert.Equal("True", run.Value("SAME-AS-UNCACHED"));
        Assert.Equal("True", run.Value("THREAD-JOB-SAME"));
        Assert.Equal("3", run.Value("SESSION-MISSES"));
        Assert.Equal("9", run.Value("SESSION-HITS"));
    }
}
