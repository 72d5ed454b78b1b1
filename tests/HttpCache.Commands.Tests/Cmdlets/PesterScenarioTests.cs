using HttpCache.Commands.Tests.Infrastructure;
using HttpCache.Testing;

namespace HttpCache.Commands.Tests.Cmdlets;

/// <summary>
/// The scenarios of tests/pester/scenarios that the Pester suites (tests/pester/*.Tests.ps1) run under pwsh,
/// run here in a fresh process importing the staged module, against Kestrel serving the same answers as the
/// Pester suites' origin (tests/pester/TestHelpers.ps1).
/// </summary>
public sealed class PesterScenarioTests(OriginFixture fixture) : IClassFixture<OriginFixture>
{
    private const string UserJson = """{"name":"Ada","id":7,"tags":["math","engines"]}""";
    private const string ArrayJson = """[{"n":1},{"n":2},{"n":3}]""";
    private const string CatalogXml = """<catalog><book id="1"><title>One</title></book><book id="2"><title>Two</title></book></catalog>""";

    private readonly TestOrigin origin = fixture.Origin;

    private static string Scenario(string name) => Path.Combine(RepoPaths.Root, "tests", "pester", "scenarios", name);

    private static string Quote(string value) => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";

    private string Fixed(string contentType, string body, int status = 200)
    {
        var path = origin.NewPath("fixed");
        origin.Respond(path, status, new Dictionary<string, string> { ["Content-Type"] = contentType }, body);
        return origin.Url(path).AbsoluteUri;
    }

    /// <summary>Runs a scenario with named arguments (arrays as PowerShell arrays) in a fresh host process.</summary>
    private static async Task<ProcessResult> Run(string scenario, params (string Name, object Value)[] arguments)
    {
        using var temp = new TempDirectory();
        var call = "& " + Quote(Scenario(scenario)) + string.Concat(arguments.Select(a => " -" + a.Name + a.Value switch
        {
            bool flag => flag ? ":$true" : ":$false",
            string[] many => " " + string.Join(",", many.Select(Quote)),
            string one => " " + Quote(one),
            var other => " " + other,
        }));
        return (await PwshProcess.RunCommandAsync(call, environment: new Dictionary<string, string?> { ["XDG_CACHE_HOME"] = temp.File("xdg") })).AssertSuccess();
    }

    [Fact]
    public async Task EntryMaintenance()
    {
        var uris = Enumerable.Range(0, 4).Select(_ => origin.NewCounterPath("entry").Url).ToArray();
        var run = await Run("EntryMaintenance.ps1", ("Uris", uris), ("NotFoundUri", origin.Url(origin.NewPath("not-mapped")).AbsoluteUri));

        Assert.Equal("5", run.Value("ENTRIES"));
        Assert.Equal("2", run.Value("HIT-COUNT"));
        Assert.Equal("1", run.Value("EXPIRED-AFTER-RESET"));
        Assert.Equal("1", run.Value("REMOVED-BY-URL"));
        Assert.Equal("1", run.Value("REMOVED-BY-KEY"));
        Assert.Equal("2", run.Value("LEFT-AFTER-WHATIF"));
        Assert.Equal("2", run.Value("REMOVED-ALL"));
    }

    [Fact]
    public async Task StatsAndHealth()
    {
        var uri = origin.NewCounterPath("stats").Url;
        var other = origin.NewCounterPath("stats-other").Url.Replace("127.0.0.1", "localhost", StringComparison.Ordinal);
        var run = await Run("StatsAndHealth.ps1", ("Uri", uri), ("OtherHostUri", other));

        Assert.Equal("Healthy", run.Value("HEALTH"));
        Assert.Equal("Insufficient data", run.Value("HEALTH-BEFORE"));
        Assert.Equal("Linear", run.Value("GROWTH"));
        Assert.Equal("Linear", run.Value("GROWTH-AGAIN"));
        Assert.Equal("2", run.Value("HOSTS"));
        Assert.Equal("19", run.Value("BUSY-HOST-HITS"));
    }

    [Fact]
    public async Task WarmCache()
    {
        var path = origin.NewPath("warm");
        origin.Map(path, OriginBehaviors.Slow(TimeSpan.FromMilliseconds(100)));
        var uris = Enumerable.Range(0, 10).Select(i => origin.Url($"{path}?i={i}").AbsoluteUri).ToArray();
        var failing = origin.NewPath("warm-failing");
        origin.Map(failing, OriginBehaviors.Status(500));
        var run = await Run("WarmCache.ps1", ("Uris", uris), ("FailingUri", origin.Url(failing).AbsoluteUri), ("ThrottleLimit", 4));

        Assert.Equal("10", run.Value("ANSWERS"));
        Assert.Equal("1", run.Value("FAILED"));
        Assert.Equal(origin.Url(failing).AbsoluteUri, run.Value("FAILED-URI"));
        Assert.Equal("10", run.Value("SECOND-FROM-CACHE"));
        Assert.Equal(10, origin.RequestCount(path));
    }

    [Fact]
    public async Task RestMethod()
    {
        var run = await Run(
            "RestMethod.ps1",
            ("JsonUri", Fixed("application/json", UserJson)),
            ("JsonArrayUri", Fixed("application/json", ArrayJson)),
            ("XmlUri", Fixed("application/xml", CatalogXml)));

        Assert.Equal("Ada", run.Value("JSON-NAME"));
        Assert.Equal("Int64", run.Value("JSON-ID-TYPE")); // as Invoke-RestMethod gives it
        Assert.Equal("True", run.Value("SECOND-FROM-CACHE"));
        Assert.Equal("3", run.Value("ARRAY-COUNT"));
        Assert.Equal("2", run.Value("ARRAY-FILTERED"));
        Assert.Equal("One,Two", run.Value("XML-TITLES"));
    }

    [Fact]
    public async Task HelpAndCompletion()
    {
        var uri = origin.NewCounterPath("help").Url;
        var run = await Run("HelpAndCompletion.ps1", ("Uri", uri));

        Assert.Equal("11", run.Value("COMMANDS"));
        Assert.Equal("True", run.Value("ABOUT"));
        Assert.Equal($"'{uri}'", run.Value("COMPLETED"));
    }

    [Fact]
    public async Task MockCachedResponse()
    {
        var api = origin.NewPath("api");
        origin.Respond($"{api}/users/1", 200, new Dictionary<string, string> { ["Content-Type"] = "application/json" }, """{"id":1,"name":"Ada"}""");
        var run = await Run("MockCachedResponse.ps1", ("BaseUri", origin.Url(api).AbsoluteUri.TrimEnd('/')));

        // What HttpCache did: the origin's answer, then the same from the cache (one request), a fresh hit.
        Assert.Equal("Ada|Ada (cached)", run.Value("REAL"));
        Assert.Equal("fresh-hit", run.Value("REAL-REASON"));
        Assert.Equal(1, origin.RequestCount($"{api}/users/1"));
        // The mock, shaped after the real answer, gives the code under test the same result.
        Assert.Equal("Ada (cached)", run.Value("NAME"));
        Assert.Equal("1", run.Value("CALLS"));
        Assert.Equal("HttpCache.CachedResponse", run.Value("TYPENAME"));
    }

    [Fact]
    public async Task OfflineFixtureRecordsOnceThenNeverTouchesTheNetwork()
    {
        var users = origin.NewPath("api");
        foreach (var (id, name) in new[] { (1, "Ada"), (2, "Grace"), (3, "Edsger") })
        {
            // max-age=0: an API whose answers go stale at once; the fixture must keep them all the same.
            origin.Respond($"{users}/users/{id}", 200, new Dictionary<string, string> { ["Content-Type"] = "application/json", ["Cache-Control"] = "max-age=0" }, $$"""{"id":{{id}},"name":"{{name}}"}""");
        }

        var baseUri = origin.Url(users).AbsoluteUri.TrimEnd('/');
        using var temp = new TempDirectory();
        var fixture = temp.File(Path.Combine("fixtures", "api.sqlite"));
        var record = await Run("OfflineFixture.ps1", ("BaseUri", baseUri), ("FixturePath", fixture), ("Record", true), ("Module", RepoPaths.ModuleManifest));

        Assert.Equal("2", record.Value("RECORDED"));
        Assert.True(File.Exists(fixture));
        // Disposing the recorder checkpointed the file: the .sqlite alone is the fixture to commit.
        Assert.False(File.Exists(fixture + "-wal") && new FileInfo(fixture + "-wal").Length > 0, "the recording left its data in the -wal file");
        var recorded = origin.RequestCount($"{users}/users/1") + origin.RequestCount($"{users}/users/2");
        Assert.Equal(2, recorded);

        var replay = await Run("OfflineFixture.ps1", ("BaseUri", baseUri), ("FixturePath", fixture), ("Module", RepoPaths.ModuleManifest));

        Assert.Equal("Ada", replay.Value("USER-1"));
        Assert.Equal("504 only-if-cached-miss", replay.Value("UNRECORDED"));
        Assert.Equal(recorded, origin.RequestCount($"{users}/users/1") + origin.RequestCount($"{users}/users/2"));
        Assert.Equal(0, origin.RequestCount($"{users}/users/3"));
    }
}
