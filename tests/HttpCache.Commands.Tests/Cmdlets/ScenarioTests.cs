using HttpCache.Commands.Tests.Infrastructure;
using HttpCache.Testing;
using Xunit.Sdk;

namespace HttpCache.Commands.Tests.Cmdlets;

/// <summary>
/// The user scenarios of tests/pester/scenarios, each run in a fresh process (the real pwsh importing the
/// staged module/HttpCache.psd1), as a user's pwsh would: nothing of this test process's load contexts
/// or bin folder can help them. Pester runs the same scripts (tests/pester/HttpCache.Tests.ps1).
/// </summary>
public sealed class ScenarioTests(OriginFixture fixture) : IClassFixture<OriginFixture>
{
    private readonly TestOrigin origin = fixture.Origin;

    private static string Scenario(string name) => Path.Combine(RepoPaths.Root, "tests", "pester", "scenarios", name);

    [Fact]
    public async Task FetchCacheRemoveWithASqliteFile()
    {
        var (path, url) = origin.NewCounterPath("scenario");
        using var temp = new TempDirectory();
        var cache = temp.File("cache.sqlite");
        // XDG_CACHE_HOME too: should the script touch the default session by mistake, it lands in scratch.
        var run = (await PwshProcess.RunFileAsync(
            Scenario("FetchCacheRemove.ps1"),
            ["-Uri", url, "-CachePath", cache],
            environment: new Dictionary<string, string?> { ["XDG_CACHE_HOME"] = temp.File("xdg") })).AssertSuccess();

        Assert.Equal("False", run.Value("FIRST-FROM-CACHE"));
        Assert.Equal("True", run.Value("SECOND-FROM-CACHE"));
        Assert.Equal("fresh-hit", run.Value("SECOND-REASON"));
        Assert.Equal("0", run.Value("ENTRIES-AFTER-REMOVE"));
        Assert.Equal("scenario", run.Value("SESSION"));
        Assert.Equal("Sqlite", run.Value("BACKEND"));
        Assert.Equal(cache, run.Value("LOCATION"));
        Assert.Equal("1", run.Value("HITS"));
        Assert.Equal("2", run.Value("MISSES"));
        Assert.Equal("1", run.Value("SESSION-HITS"));
        Assert.Equal("2", run.Value("SESSION-MISSES"));
        Assert.Equal(2, origin.RequestCount(path)); // the first fetch and the one after the removal
        Assert.True(File.Exists(cache));
        // PowerShell itself keeps its module analysis cache under XDG_CACHE_HOME/powershell; HttpCache's folder must not appear.
        Assert.False(Directory.Exists(Path.Combine(temp.File("xdg"), "HttpCache")), "the scenario touched the default cache folder");
    }

    [XdgFact]
    public async Task FetchCacheRemoveWithTheSharedDefaultSession()
    {
        var (path, url) = origin.NewCounterPath("scenario");
        using var temp = new TempDirectory();
        var xdg = temp.File("xdg");
        var run = (await PwshProcess.RunFileAsync(
            Scenario("FetchCacheRemove.ps1"),
            ["-Uri", url],
            environment: new Dictionary<string, string?> { ["XDG_CACHE_HOME"] = xdg })).AssertSuccess();

        var expected = Path.Combine(xdg, "HttpCache", "http_cache.sqlite");
        Assert.Equal("default", run.Value("SESSION"));
        Assert.Equal(expected, run.Value("LOCATION"));
        Assert.Equal("True", run.Value("SECOND-FROM-CACHE"));
        Assert.True(File.Exists(expected));
        Assert.Equal(2, origin.RequestCount(path));
    }

    [XdgFact]
    public async Task DefaultSessionCountersSurviveTheProcess()
    {
        var (_, url) = origin.NewCounterPath("scenario");
        using var temp = new TempDirectory();
        var environment = new Dictionary<string, string?> { ["XDG_CACHE_HOME"] = temp.File("xdg") };

        // No Get-HttpCacheStats in the first process: only the flush at exit can persist its counters.
        (await PwshProcess.RunCommandAsync(
            "Import-Module $env:HTTPCACHE_MODULE_MANIFEST; $null = Invoke-CachedWebRequest $u; $null = Invoke-CachedWebRequest $u".Replace("$u", $"'{url}'", StringComparison.Ordinal),
            environment: environment)).AssertSuccess();
        var second = (await PwshProcess.RunCommandAsync(
            "Import-Module $env:HTTPCACHE_MODULE_MANIFEST; $s = Get-HttpCacheStats; \"HITS=$($s.StoreHits)\"; \"MISSES=$($s.StoreMisses)\"; \"SESSION-HITS=$($s.SessionHits)\"",
            environment: environment)).AssertSuccess();

        Assert.Equal("1", second.Value("HITS"));
        Assert.Equal("1", second.Value("MISSES"));
        Assert.Equal("0", second.Value("SESSION-HITS"));
    }

    [Fact]
    public async Task OutputTypesRenderWithTheirTableViews()
    {
        var (_, url) = origin.NewCounterPath("scenario");
        using var temp = new TempDirectory();
        var run = (await PwshProcess.RunCommandAsync(
            $$"""
            Import-Module $env:HTTPCACHE_MODULE_MANIFEST
            $s = New-HttpCacheSession -Name viewtest -Backend Memory
            # One Out-String each (after a first table, Out-Default shows other types as lists), wide enough
            # for every column: pwsh formats redirected output for 80 columns.
            $s | Out-String -Stream -Width 160
            Invoke-CachedWebRequest -Uri '{{url}}' -Session $s | Out-String -Stream -Width 160
            Get-HttpCacheEntry -Session $s | Out-String -Stream -Width 160
            Get-HttpCacheStats -Session $s | Out-String -Stream -Width 160
            Get-HttpCacheStats -Session $s -GroupBy Host | Out-String -Stream -Width 160
            """,
            environment: new Dictionary<string, string?> { ["XDG_CACHE_HOME"] = temp.File("xdg") })).AssertSuccess();

        var lines = run.OutputLines.Select(l => string.Join(' ', l.Split(' ', StringSplitOptions.RemoveEmptyEntries))).ToArray();
        // Each type's header row is its table view's labels, in order (read from the staged format file).
        var format = System.Xml.Linq.XDocument.Load(Path.Combine(RepoPaths.ModuleDirectory, "HttpCache.Format.ps1xml"));
        foreach (var type in new[] { "HttpCache.CacheSession", "HttpCache.CachedResponse", "HttpCache.CacheEntry", "HttpCache.CacheStats", "HttpCache.CacheHostStats" })
        {
            var view = format.Descendants("View").Single(v => v.Element("ViewSelectedBy")?.Element("TypeName")?.Value == type);
            Assert.Contains(string.Join(' ', view.Descendants("TableColumnHeader").Select(h => h.Element("Label")!.Value)), lines);
        }

        Assert.Contains("Method Status Expires Size Hits Uri", lines);
        Assert.Contains("Session Hits Misses HitRate Entries Stored Health Growth", lines);
        Assert.Contains("Host Entries Stored Hits Expired Oldest Newest", lines);
        var shown = url[(url.IndexOf("://", StringComparison.Ordinal) + 3)..]; // a short URL is shown whole, without its scheme
        Assert.Contains("200 False miss-no-entry never " + shown, lines);
        Assert.Contains(lines, l => l.StartsWith("GET 200 never ", StringComparison.Ordinal) && l.EndsWith(" 0 " + shown, StringComparison.Ordinal));
    }
}

/// <summary>
/// A test of the shared default session: it exists only where XDG_CACHE_HOME moves the default cache folder
/// (Linux), so that no test ever touches the user's real cache. Elsewhere it is not discovered at all, rather
/// than shown as skipped.
/// </summary>
[XunitTestCaseDiscoverer("HttpCache.Testing.LinuxFactDiscoverer", "HttpCache.TestOrigin")]
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class XdgFactAttribute : FactAttribute
{
}
