using System.Management.Automation;
using HttpCache.Commands.Tests.Infrastructure;

namespace HttpCache.Commands.Tests.Cmdlets;

public sealed class NewHttpCacheSessionTests
{
    private const string Cmdlet = "HttpCache.Commands.NewHttpCacheSessionCommand";

    [Fact]
    public async Task MemorySessionCarriesItsSettings()
    {
        using var ps = PS.Open();
        var session = (await ps.Ok("New-HttpCacheSession -Name api -Backend Memory -ExpireAfter 300 -AllowedMethods get, POST -AllowedStatusCodes 200, 404")).Output.Single();

        Assert.Equal("HttpCache.CacheSession", session.TypeName());
        Assert.Equal("api", session.Prop<string>("Name"));
        Assert.Equal("Memory", session.Prop<string>("Backend"));
        Assert.Equal("00:05:00", session.Prop<string>("ExpireAfter"));
        Assert.True(session.Prop<bool>("CacheControl"));
        Assert.Equal(["GET", "POST"], session.Prop<string[]>("AllowedMethods"));
        Assert.Equal([200, 404], session.Prop<int[]>("AllowedStatusCodes"));
        Assert.False(session.Prop<bool>("IsDefault"));
        Assert.InRange(session.Prop<DateTime>("CreatedAt"), DateTime.Now.AddMinutes(-1), DateTime.Now.AddMinutes(1));
        Assert.Equal("api", session.ToString());
        Assert.IsAssignableFrom<IDisposable>(session.BaseObject);
    }

    [Fact]
    public async Task DefaultsAreRequestsCachesDefaults()
    {
        using var ps = PS.Open();
        var session = (await ps.Ok("New-HttpCacheSession -Backend Memory")).Output.Single();

        Assert.Matches("^session-[0-9]+$", session.Prop<string>("Name"));
        Assert.Equal("NeverExpire", session.Prop<string>("ExpireAfter"));
        Assert.True(session.Prop<bool>("CacheControl"));
        Assert.Equal(["GET", "HEAD"], session.Prop<string[]>("AllowedMethods"));
    }

    [Fact]
    public async Task CacheControlIsOnByDefaultAndTurnsOffWithFalse()
    {
        using var ps = PS.Open();
        // The default is what a session gets without the switch: passing -CacheControl would prove nothing about it.
        var result = await ps.Ok("""
            (New-HttpCacheSession -Backend Memory).CacheControl
            (New-HttpCacheSession -Backend Memory -CacheControl:$false).CacheControl
            (New-HttpCacheSession -Backend Memory -CacheControl).CacheControl
            """);

        Assert.Equal([true, false, true], result.BaseOutput);
    }

    [Theory]
    [InlineData("300", "00:05:00")]
    [InlineData("'00:05:00'", "00:05:00")]
    [InlineData("([TimeSpan]::FromMinutes(5))", "00:05:00")]
    [InlineData("'PT5M'", "00:05:00")]
    [InlineData("'NeverExpire'", "NeverExpire")]
    [InlineData("-1", "NeverExpire")]
    [InlineData("'expireimmediately'", "ExpireImmediately")]
    [InlineData("0", "ExpireImmediately")]
    [InlineData("DoNotCache", "DoNotCache")]
    [InlineData("([DateTimeOffset]::new(2030, 1, 2, 3, 4, 5, [TimeSpan]::Zero))", "2030-01-02T03:04:05.0000000+00:00")]
    public async Task ExpireAfterAcceptsTheEnginesForms(string value, string expected)
    {
        using var ps = PS.Open();
        var result = await ps.Ok($"(New-HttpCacheSession -Backend Memory -ExpireAfter {value}).ExpireAfter");

        Assert.Equal(expected, result.Single<string>());
    }

    [Fact]
    public async Task ExpireAfterAcceptsADateTime()
    {
        using var ps = PS.Open();
        var result = await ps.Ok("(New-HttpCacheSession -Backend Memory -ExpireAfter ([DateTime]::Now.AddHours(1))).ExpireAfter");

        Assert.True(DateTimeOffset.TryParse(result.Single<string>(), out var at));
        Assert.InRange(at, DateTimeOffset.Now.AddMinutes(59), DateTimeOffset.Now.AddMinutes(61));
    }

    [Theory]
    [InlineData("'later'")]
    [InlineData("'-00:05:00'")]
    [InlineData("$true")]
    public async Task BadExpireAfterFailsParameterBindingWithTheAcceptedForms(string value)
    {
        using var ps = PS.Open();
        var error = await ps.Fails($"New-HttpCacheSession -Backend Memory -ExpireAfter {value}");

        Assert.Equal($"ParameterArgumentTransformationError,{Cmdlet}", error.FullyQualifiedErrorId);
        Assert.IsAssignableFrom<ParameterBindingException>(error.Exception);
        Assert.Equal(ErrorCategory.InvalidData, error.CategoryInfo.Category);
        Assert.Contains("'NeverExpire', 'ExpireImmediately' or 'DoNotCache'", error.Exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SqliteSessionCreatesItsFile()
    {
        using var temp = new TempDirectory();
        using var ps = PS.Open();
        var session = (await ps.Ok("New-HttpCacheSession -Path $p", ("p", temp.File("sub/cache.sqlite")))).Output.Single();

        Assert.Equal("Sqlite", session.Prop<string>("Backend"));
        Assert.Equal(temp.File("sub/cache.sqlite"), session.Prop<string>("Location"));
        Assert.True(File.Exists(temp.File("sub/cache.sqlite")));
        ((IDisposable)session.BaseObject).Dispose();
    }

    [Fact]
    public async Task RelativePathIsResolvedAgainstThePowerShellLocation()
    {
        using var temp = new TempDirectory();
        using var ps = PS.Open();
        var result = await ps.Ok(PS.SetLocation + "; (New-HttpCacheSession -Path 'rel/cache').Location", ("d", temp.Path));

        Assert.Equal(temp.File("rel/cache.sqlite"), result.Single<string>());
    }

    [Fact]
    public async Task UnwritablePathIsATerminatingStoreError()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("a-file"), "not a folder");
        var path = temp.File("a-file/sub/cache.sqlite"); // a folder cannot be made under a file, even as root
        using var ps = PS.Open();
        var error = await ps.Fails("New-HttpCacheSession -Path $p", ("p", path));

        Assert.Equal($"CacheStoreUnavailable,{Cmdlet}", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ResourceUnavailable, error.CategoryInfo.Category);
        Assert.Equal(path, error.TargetObject);
        Assert.Equal("HttpCache.Engine.Storage.CacheStoreException", error.Exception.GetType().FullName);
    }

    [Fact]
    public async Task FileThatIsNotADatabaseIsATerminatingStoreError()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("junk.sqlite"), new string('x', 4096));
        using var ps = PS.Open();
        var error = await ps.Fails("New-HttpCacheSession -Path $p", ("p", temp.File("junk.sqlite")));

        Assert.Equal($"CacheStoreUnavailable,{Cmdlet}", error.FullyQualifiedErrorId);
    }

    [Fact]
    public async Task PathWithMemoryBackendIsAnInvalidOption()
    {
        using var ps = PS.Open();
        var error = await ps.Fails("New-HttpCacheSession -Backend Memory -Path 'x.sqlite'");

        Assert.Equal($"InvalidSessionOption,{Cmdlet}", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
    }

    [Fact]
    public async Task UnknownBackendFailsValidation()
    {
        using var ps = PS.Open();
        var error = await ps.Fails("New-HttpCacheSession -Backend Redisx");

        Assert.Equal($"ParameterArgumentValidationError,{Cmdlet}", error.FullyQualifiedErrorId);
    }

    [Theory]
    [InlineData("New-HttpCacheSession -Backend ", new[] { "Sqlite", "Memory", "FileSystem", "Redis" })]
    [InlineData("New-HttpCacheSession -Backend M", new[] { "Memory" })]
    [InlineData("New-HttpCacheSession -ExpireAfter Nev", new[] { "NeverExpire" })]
    [InlineData("Invoke-CachedWebRequest -Uri http://x/ -ExpireAfter ", new[] { "NeverExpire", "ExpireImmediately", "DoNotCache", "'00:05:00'", "'01:00:00'", "'1.00:00:00'" })]
    [InlineData("Reset-HttpCacheExpiration -ExpireAfter do", new[] { "DoNotCache" })]
    [InlineData("Invoke-CachedWebRequest -Uri http://x/ -Method P", new[] { "POST", "PUT", "PATCH" })]
    public async Task ParametersTabComplete(string input, string[] expected)
    {
        using var ps = PS.Open();
        var result = await ps.Ok("(TabExpansion2 -inputScript $i -cursorColumn $i.Length).CompletionMatches | ForEach-Object { $_.CompletionText }", ("i", input));

        Assert.Equal(expected.Order(), result.BaseOutput.Select(o => o.ToString()).Order());
    }

    [Fact]
    public async Task DisposedSessionIsRefusedClearly()
    {
        using var ps = PS.Open();
        var error = await ps.Fails("$s = New-HttpCacheSession -Backend Memory; $s.Dispose(); Get-HttpCacheStats -Session $s");

        Assert.Equal("SessionDisposed,HttpCache.Commands.GetHttpCacheStatsCommand", error.FullyQualifiedErrorId);
    }
}
