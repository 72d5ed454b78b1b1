using System.Diagnostics;
using System.Globalization;
using System.Management.Automation;
using System.Net;
using System.Net.Sockets;
using System.Text;
using HttpCache.Commands.Tests.Infrastructure;
using HttpCache.Testing;

namespace HttpCache.Commands.Tests.Cmdlets;

/// <summary>Issue 4 through New-HttpCacheSession: the FileSystem backend, bounds on every backend, and bad options.</summary>
public sealed class BackendTests(OriginFixture fixture) : IClassFixture<OriginFixture>
{
    private const string Cmdlet = "HttpCache.Commands.NewHttpCacheSessionCommand";
    private readonly TestOrigin origin = fixture.Origin;

    private (string Path, string Url) Map(string? body = null)
    {
        var path = origin.NewPath("b");
        if (body is null)
        {
            origin.Map(path, OriginBehaviors.Counter());
        }
        else
        {
            origin.Respond(path, 200, new Dictionary<string, string> { ["Content-Type"] = "application/json" }, body);
        }

        return (path, origin.Url(path).AbsoluteUri);
    }

    [Fact]
    public async Task FileSystemBackendKeepsTheBodyAsAPlainFile()
    {
        const string Json = """{"hello":"world","n":[1,2,3]}""";
        var (path, url) = Map(Json);
        using var temp = new TempDirectory();
        using var ps = PS.Open();
        var result = await ps.Ok(PS.SetLocation + """

            $s = New-HttpCacheSession -Backend FileSystem -Path 'fs-cache'
            $s.Backend
            $s.Location
            (Invoke-CachedWebRequest -Uri $u -Session $s).FromCache
            (Invoke-CachedWebRequest -Uri $u -Session $s).FromCache
            $s.Dispose()
            """, ("d", temp.Path), ("u", url));

        Assert.Equal(["FileSystem", temp.File("fs-cache"), false, true], result.BaseOutput);
        var body = Assert.Single(Directory.EnumerateFiles(temp.File("fs-cache"), "*.body", SearchOption.AllDirectories));
        Assert.Equal(Json, await File.ReadAllTextAsync(body));
        Assert.True(File.Exists(Path.ChangeExtension(body, ".meta")));
        Assert.Equal(1, origin.RequestCount(path));
    }

    [Fact]
    public async Task CompressStoresFewerBytesAndAnswersWithTheOriginal()
    {
        var json = "[" + string.Join(",", Enumerable.Repeat("""{"name":"repetitive","value":42}""", 200)) + "]";
        var (path, url) = Map(json);
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory -Compress Brotli
            $s.Compress
            $null = Invoke-CachedWebRequest -Uri $u -Session $s
            $hit = Invoke-CachedWebRequest -Uri $u -Session $s
            $hit.FromCache
            $hit.Content.Length
            $stats = Get-HttpCacheStats -Session $s
            $stats.OriginalBytesWritten
            $stats.StoredBytesWritten
            """, ("u", url));

        Assert.Equal("Brotli", result.BaseOutput[0]);
        Assert.Equal(true, result.BaseOutput[1]);
        Assert.Equal(json.Length, result.BaseOutput[2]);
        Assert.Equal((long)json.Length, result.BaseOutput[3]);
        Assert.True((long)result.BaseOutput[4] < json.Length / 4, $"stored {result.BaseOutput[4]} of {json.Length} bytes");
        Assert.Equal(1, origin.RequestCount(path));
    }

    [Fact]
    public async Task MaxBodySizeLetsLargerAnswersPassThroughUncached()
    {
        var (path, url) = Map(new string('x', 5000));
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory -MaxBodySize 1000
            $s.MaxBodySize
            $first = Invoke-CachedWebRequest -Uri $u -Session $s
            $first.StoreReason
            $first.RawContentLength
            (Invoke-CachedWebRequest -Uri $u -Session $s).FromCache
            """, ("u", url));

        Assert.Equal([1000L, "not-storable-too-large", 5000L, false], result.BaseOutput);
        Assert.Equal(2, origin.RequestCount(path));
    }

    [Fact]
    public async Task FileSystemBackendNeedsAPath()
    {
        using var ps = PS.Open();
        var error = await ps.Fails("New-HttpCacheSession -Backend FileSystem");

        Assert.Equal($"InvalidSessionOption,{Cmdlet}", error.FullyQualifiedErrorId);
        Assert.Contains("-Path", error.Exception.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Memory")]
    [InlineData("Sqlite")]
    [InlineData("FileSystem")]
    public async Task MaxEntriesEvictsTheLeastRecentlyUsed(string backend)
    {
        var (_, first) = Map();
        var (_, second) = Map();
        var (_, third) = Map();
        using var temp = new TempDirectory();
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $options = @{ Backend = $backend; MaxEntries = 2 }
            if ($backend -ne 'Memory') { $options.Path = $path }
            $s = New-HttpCacheSession @options
            $s.MaxEntries
            $first, $second, $third | ForEach-Object { $null = Invoke-CachedWebRequest -Uri $_ -Session $s }
            Get-HttpCacheEntry -Session $s | ForEach-Object { $_.Uri }
            $s.Dispose()
            """, ("backend", backend), ("path", temp.File(backend == "Sqlite" ? "bounded.sqlite" : "bounded")), ("first", first), ("second", second), ("third", third));

        Assert.Equal(2L, result.BaseOutput[0]);
        Assert.Equal(new[] { second, third }.Order(StringComparer.Ordinal), result.BaseOutput.Skip(1).Select(o => o.ToString()!).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task MaxSizeEvictsToStayUnderTheBound()
    {
        var urls = Enumerable.Range(0, 4).Select(_ => Map().Url).ToArray();
        using var ps = PS.Open();
        var result = await ps.Ok("""
            # One entry's size, then a bound that holds two of them and a half.
            $probe = New-HttpCacheSession -Backend Memory
            $null = Invoke-CachedWebRequest -Uri $urls[0] -Session $probe
            $size = (Get-HttpCacheEntry -Session $probe).Size
            $s = New-HttpCacheSession -Backend Memory -MaxSize ([long]($size * 2.5))
            $urls | ForEach-Object { $null = Invoke-CachedWebRequest -Uri $_ -Session $s }
            $entries = @(Get-HttpCacheEntry -Session $s)
            $entries.Count
            $total = 0; $entries | ForEach-Object { $total += $_.Size }
            $total -le $s.MaxSize
            """, ("urls", urls));

        Assert.Equal([2, true], result.BaseOutput);
    }

    [Fact]
    public async Task BackendNamesTabComplete()
    {
        using var ps = PS.Open();
        var result = await ps.Ok("(TabExpansion2 -inputScript $i -cursorColumn $i.Length).CompletionMatches | ForEach-Object { $_.CompletionText }", ("i", "New-HttpCacheSession -Backend "));

        Assert.Equal(["FileSystem", "Memory", "Redis", "Sqlite"], result.BaseOutput.Select(o => o.ToString()).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("Memory")]
    [InlineData("Sqlite")]
    [InlineData("FileSystem")]
    public async Task LocalBackendsArePrivateAndKeepExpiredEntriesUntilRemoved(string backend)
    {
        var (path, url) = Map();
        using var temp = new TempDirectory();
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $where = if ($b -eq 'Memory') { @{} } else { @{ Path = $p } }
            $s = New-HttpCacheSession -Backend $b -ExpireAfter ExpireImmediately @where
            $s
            $null = Invoke-CachedWebRequest -Uri $u -Session $s
            $null = Invoke-CachedWebRequest -Uri $u -Session $s
            # Expired twice over, and still there: only removal ends an entry when no -TtlOffset is given.
            @(Get-HttpCacheEntry -Session $s | ForEach-Object { "$($_.Uri) $($_.IsExpired)" })
            Remove-HttpCacheEntry -Session $s -Expired -Confirm:$false
            @(Get-HttpCacheEntry -Session $s).Count
            """, ("b", backend), ("u", url), ("p", backend == "Sqlite" ? temp.File("cache.sqlite") : temp.File("cache")));

        var session = result.Output[0];
        Assert.False(session.Prop<bool>("Shared"));
        Assert.Null(session.Prop<TimeSpan?>("KeepExpiredFor"));
        Assert.Null(session.Prop<long?>("MaxSize"));
        Assert.Null(session.Prop<long?>("MaxEntries"));
        Assert.Null(session.Properties["Namespace"].Value);
        Assert.Null(session.Properties["RedisConnection"].Value);
        Assert.Equal([$"{url} True", "0"], result.Output.Skip(1).Select(o => Convert.ToString(o.BaseObject, CultureInfo.InvariantCulture)));
        Assert.Equal(2, origin.RequestCount(path));
    }

    [Theory]
    [InlineData("-Backend Memory -Path 'x'", "InvalidSessionOption")]
    [InlineData("-Backend Redis -Path 'x'", "InvalidSessionOption")]
    [InlineData("-RedisConnection 42", "InvalidRedisConnection")]
    [InlineData("-RedisConnection ([System.Object]::new())", "InvalidRedisConnection")]
    [InlineData("-Backend Sqlite -RedisConfiguration 'localhost:6379'", "InvalidSessionOption")]
    [InlineData("-Backend Memory -Namespace 'ns'", "InvalidSessionOption")]
    [InlineData("-Backend Memory -NoRedisTtl", "InvalidSessionOption")]
    [InlineData("-RedisConfiguration 'localhost:1' -RedisConnection 42", "InvalidSessionOption")]
    [InlineData("-Backend Redis -NoRedisTtl -TtlOffset 60", "InvalidSessionOption")]
    [InlineData("-Backend Memory -MaxEntries 0", "ParameterArgumentValidationError")]
    [InlineData("-Backend Memory -MaxSize -1", "ParameterArgumentValidationError")]
    [InlineData("-Backend Tape", "ParameterArgumentValidationError")]
    public async Task BadBackendOptionsAreClearErrors(string parameters, string errorId)
    {
        using var ps = PS.Open();
        var error = await ps.Fails($"New-HttpCacheSession {parameters}");

        Assert.Equal($"{errorId},{Cmdlet}", error.FullyQualifiedErrorId);
        Assert.False(string.IsNullOrWhiteSpace(error.Exception.Message));
    }

    [Fact]
    public async Task AnUnreachableRedisLeavesRequestsToTheOriginWithAWarning()
    {
        var (path, url) = Map();
        using var ps = PS.Open();
        var result = await ps.RunAsync("""
            # A key secret keeps the once-per-process "no key secret" warning out of this count.
            $s = New-HttpCacheSession -RedisConfiguration "127.0.0.1:$port" -Namespace 'down' -KeySecret ([System.Net.NetworkCredential]::new('', 'k').SecurePassword)
            $s.Backend
            1..2 | ForEach-Object { $r = Invoke-CachedWebRequest -Uri $u -Session $s; "$($r.StatusCode) $($r.FromCache)" }
            $s.Dispose()
            """, ("port", RedisServerProcess.FreePort()), ("u", url));

        Assert.False(result.Threw, result.ToString());
        Assert.Equal(["Redis", "200 False", "200 False"], result.BaseOutput.Select(o => o.ToString()));
        // One warning when the session is created (the address did not answer), one for the outage at the first request.
        Assert.Equal(2, result.Warnings.Count(w => w.Contains("Redis", StringComparison.Ordinal)));
        Assert.Single(result.Warnings, w => w.Contains("did not answer", StringComparison.Ordinal));
        Assert.Equal(2, origin.RequestCount(path));
    }
}

/// <summary>The Redis backend through the cmdlets, against the standalone server of <see cref="RedisStandaloneFixture"/>.</summary>
[Collection(RedisStandaloneCollection.Name)]
public sealed class RedisBackendTests(RedisStandaloneFixture redis, OriginFixture fixture) : IClassFixture<OriginFixture>, IAsyncLifetime
{
    private readonly TestOrigin origin = fixture.Origin;
    private readonly List<string> namespaces = [];

    public Task InitializeAsync() => Task.CompletedTask;

    /// <summary>Deletes what the test left under its namespaces (a shared CI server outlives the run).</summary>
    public async Task DisposeAsync()
    {
        foreach (var ns in namespaces)
        {
            await redis.DeleteNamespaceAsync(ns);
        }
    }

    private (string Path, string Url) Map(Microsoft.AspNetCore.Http.RequestDelegate? behavior = null)
    {
        var path = origin.NewPath("r");
        origin.Map(path, behavior ?? OriginBehaviors.Counter());
        return (path, origin.Url(path).AbsoluteUri);
    }

    private string NewNamespace()
    {
        var ns = "hc_cmdlets_" + Guid.NewGuid().ToString("N")[..12];
        namespaces.Add(ns);
        return ns;
    }

    [Fact]
    public async Task ARedisSessionIsSharedKeepsExpiredEntriesAnHourAndStores()
    {
        var ns = NewNamespace();
        var (path, url) = Map();
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -RedisConfiguration $cfg -Namespace $ns
            "$($s.Backend) $($s.Shared) $($s.KeepExpiredFor) $($s.Namespace)"
            $s.Location
            $null -ne $s.RedisConnection
            (Invoke-CachedWebRequest -Uri $u -Session $s).FromCache
            (Invoke-CachedWebRequest -Uri $u -Session $s).FromCache
            $s.Dispose()
            """, ("cfg", redis.Configuration), ("ns", ns), ("u", url));

        Assert.Equal($"Redis True 01:00:00 {ns}", result.BaseOutput[0]);
        Assert.Contains(ns, (string)result.BaseOutput[1], StringComparison.Ordinal);
        Assert.Equal([true, false, true], result.BaseOutput.Skip(2));
        Assert.Equal(1, origin.RequestCount(path));
        Assert.NotEmpty(await redis.KeysMatchingAsync(ns + ":i:*"));
    }

    [Theory]
    [InlineData("-ExpireAfter 60 -TtlOffset 120", 170, 180)]
    [InlineData("-ExpireAfter 60", 3650, 3660)]
    [InlineData("-ExpireAfter 60 -NoRedisTtl", -1, -1)]
    [InlineData("", -1, -1)]
    public async Task EntryTtlIsItsExpirationPlusTheOffset(string parameters, int low, int high)
    {
        var ns = NewNamespace();
        var (_, url) = Map();
        using var ps = PS.Open();
        await ps.Ok($"""
            $s = New-HttpCacheSession -RedisConfiguration $cfg -Namespace $ns {parameters}
            $null = Invoke-CachedWebRequest -Uri $u -Session $s
            $s.Dispose()
            """, ("cfg", redis.Configuration), ("ns", ns), ("u", url));

        var index = Assert.Single(await redis.KeysMatchingAsync(ns + ":i:*"));
        var ttl = (long)(await redis.CommandAsync("TTL", index))!;
        Assert.InRange(ttl, low, high);
    }

    [Fact]
    public async Task ASecondSessionReusesTheFirstsConnection()
    {
        var ns = NewNamespace();
        var (path, url) = Map();
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $a = New-HttpCacheSession -RedisConfiguration $cfg -Namespace $ns
            $null = Invoke-CachedWebRequest -Uri $u -Session $a
            # Another session sees a new entry once its write has landed; reading the stats waits for it.
            $null = Get-HttpCacheStats -Session $a
            $b = New-HttpCacheSession -Backend Redis -RedisConnection $a.RedisConnection -Namespace $ns
            [object]::ReferenceEquals($a.RedisConnection, $b.RedisConnection)
            (Invoke-CachedWebRequest -Uri $u -Session $b).FromCache
            # Disposing the session that borrowed the connection leaves it open for its owner.
            $b.Dispose()
            (Invoke-CachedWebRequest -Uri $u -Session $a).FromCache
            $a.Dispose()
            """, ("cfg", redis.Configuration), ("ns", ns), ("u", url));

        Assert.Equal([true, true, true], result.BaseOutput);
        Assert.Equal(1, origin.RequestCount(path));
    }

    [Fact]
    public async Task PrivateOptsARedisSessionOutOfSharedCacheRules()
    {
        var ns = NewNamespace();
        var (path, url) = Map(OriginBehaviors.Counter(new Dictionary<string, string> { ["Cache-Control"] = "private, max-age=60" }));
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $shared = New-HttpCacheSession -RedisConfiguration $cfg -Namespace "$ns-shared"
            $private = New-HttpCacheSession -RedisConfiguration $cfg -Namespace "$ns-private" -Private
            (Invoke-CachedWebRequest -Uri $u -Session $shared).StoreReason
            (Invoke-CachedWebRequest -Uri $u -Session $private).StoreReason
            "$($shared.Shared) $($private.Shared)"
            $shared.Dispose(); $private.Dispose()
            """, ("cfg", redis.Configuration), ("ns", ns), ("u", url));

        Assert.Equal(["not-storable-private", "stored", "True False"], result.BaseOutput.Select(o => o.ToString()));
        Assert.Equal(2, origin.RequestCount(path));
    }

    [Fact]
    public async Task MaxEntriesEvictsWithinTheNamespace()
    {
        var ns = NewNamespace();
        var urls = Enumerable.Range(0, 3).Select(_ => Map().Url).ToArray();
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -RedisConfiguration $cfg -Namespace $ns -MaxEntries 2
            $urls | ForEach-Object { $null = Invoke-CachedWebRequest -Uri $_ -Session $s }
            Get-HttpCacheEntry -Session $s | ForEach-Object { $_.Uri }
            $s.Dispose()
            """, ("cfg", redis.Configuration), ("ns", ns), ("urls", urls));

        Assert.Equal(urls.Skip(1).Order(StringComparer.Ordinal), result.BaseOutput.Select(o => o.ToString()).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task ABadNamespaceIsAnInvalidOption()
    {
        using var ps = PS.Open();
        var error = await ps.Fails("New-HttpCacheSession -RedisConfiguration $cfg -Namespace 'has space{'", ("cfg", redis.Configuration));

        Assert.Equal("InvalidSessionOption,HttpCache.Commands.NewHttpCacheSessionCommand", error.FullyQualifiedErrorId);
    }
}
