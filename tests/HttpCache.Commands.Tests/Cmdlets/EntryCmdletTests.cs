using System.Management.Automation;
using HttpCache.Commands.Tests.Infrastructure;
using HttpCache.Testing;

namespace HttpCache.Commands.Tests.Cmdlets;

/// <summary>Shared setup of the entry cmdlets' tests: a session with a few stored answers.</summary>
public abstract class EntryTestBase(OriginFixture fixture) : IClassFixture<OriginFixture>
{
    protected TestOrigin Origin { get; } = fixture.Origin;

    /// <summary>Maps <paramref name="count"/> counter paths named after <paramref name="name"/>; returns their URLs.</summary>
    protected string[] Urls(int count, string name = "p", IReadOnlyDictionary<string, string>? headers = null) =>
        Enumerable.Range(0, count).Select(_ =>
        {
            var path = Origin.NewPath(name);
            Origin.Map(path, OriginBehaviors.Counter(headers));
            return Origin.Url(path).AbsoluteUri;
        }).ToArray();

    /// <summary>A runspace with <c>$s</c>, a Memory session that fetched every URL once.</summary>
    protected static async Task<PowerShellSession> WithStored(params string[] urls)
    {
        var ps = PS.Open();
        await ps.Ok("$s = New-HttpCacheSession -Backend Memory; $urls | Invoke-CachedWebRequest -Session $s | ForEach-Object { $null = $_ }", ("urls", urls));
        return ps;
    }

    protected static async Task<string[]> StoredUris(PowerShellSession ps) =>
        (await ps.Ok("Get-HttpCacheEntry -Session $s | ForEach-Object { $_.Uri }")).BaseOutput.Select(o => o.ToString()!).Order().ToArray();
}

public sealed class GetHttpCacheEntryTests(OriginFixture fixture) : EntryTestBase(fixture)
{
    private const string Cmdlet = "HttpCache.Commands.GetHttpCacheEntryCommand";

    [Fact]
    public async Task ListsEntriesWithTheirSession()
    {
        var urls = Urls(2);
        using var ps = await WithStored(urls);
        var result = await ps.Ok("Get-HttpCacheEntry -Session $s");

        Assert.Equal(2, result.Output.Count);
        var entry = result.Output[0];
        Assert.Equal("HttpCache.CacheEntry", entry.TypeName());
        Assert.Equal(urls[0], entry.Prop<string>("Uri"));
        Assert.Equal("GET", entry.Prop<string>("Method"));
        Assert.Equal(200, entry.Prop<int>("StatusCode"));
        Assert.False(entry.Prop<bool>("IsExpired"));
        Assert.Null(entry.Prop<DateTime?>("ExpiresAt"));
        Assert.True(entry.Prop<long>("Size") > 0);
        Assert.Equal(32, entry.Prop<string>("Key").Length);
        Assert.Equal("HttpCache.CacheSession", PSObject.AsPSObject(entry.Prop<object>("Session")).TypeName());
        Assert.True((await ps.Ok("[object]::ReferenceEquals((Get-HttpCacheEntry -Session $s)[0].Session, $s)")).Single<bool>());
    }

    [Fact]
    public async Task UriIsACaseInsensitiveWildcard()
    {
        var alpha = Urls(2, "Alpha");
        var beta = Urls(1, "beta");
        using var ps = await WithStored([.. alpha, .. beta]);
        var result = await ps.Ok("Get-HttpCacheEntry -Session $s -Uri '*/ALPHA-*' | ForEach-Object { $_.Uri }");

        Assert.Equal(alpha.Order(), result.BaseOutput.Select(o => o.ToString()).Order());
        Assert.Equal(beta, (await ps.Ok("Get-HttpCacheEntry $b -Session $s | ForEach-Object { $_.Uri }", ("b", beta[0]))).BaseOutput);
    }

    [Fact]
    public async Task KeySelectsOneEntry()
    {
        var urls = Urls(2);
        using var ps = await WithStored(urls);
        var result = await ps.Ok("$k = (Get-HttpCacheEntry -Session $s)[1].Key; Get-HttpCacheEntry -Session $s -Key $k | ForEach-Object { $_.Uri }");

        Assert.Equal([urls[1]], result.BaseOutput);
    }

    [Fact]
    public async Task LiteralFilterThatMatchesNothingIsANonTerminatingNotFound()
    {
        using var ps = await WithStored(Urls(1));
        var missingKey = await ps.RunAsync("Get-HttpCacheEntry -Session $s -Key 'no-such-key'; 'went on'");
        var missingUri = await ps.RunAsync("Get-HttpCacheEntry -Session $s -Uri 'http://nowhere.invalid/x'");
        var wildcard = await ps.RunAsync("Get-HttpCacheEntry -Session $s -Uri 'http://nowhere.invalid/*'");

        Assert.Equal([$"EntryNotFound,{Cmdlet}"], missingKey.ErrorIds);
        Assert.Equal(ErrorCategory.ObjectNotFound, missingKey.Errors[0].CategoryInfo.Category);
        Assert.Equal(["went on"], missingKey.BaseOutput);
        Assert.Equal([$"EntryNotFound,{Cmdlet}"], missingUri.ErrorIds);
        wildcard.AssertSuccess();
        Assert.Empty(wildcard.Output);
    }

    [Fact]
    public async Task ExpiredListsOnlyStaleEntries()
    {
        var urls = Urls(2);
        using var ps = await WithStored(urls);
        var result = await ps.Ok("""
            $null = Get-HttpCacheEntry -Session $s -Uri $u | Reset-HttpCacheExpiration -ExpireAfter ExpireImmediately
            Get-HttpCacheEntry -Session $s -Expired | ForEach-Object { $_.Uri; $_.IsExpired }
            """, ("u", urls[0]));

        Assert.Equal([urls[0], true], result.BaseOutput);
    }

    [Fact]
    public async Task SessionComesFromThePipeline()
    {
        var urls = Urls(1);
        using var ps = await WithStored(urls);
        var result = await ps.Ok("$s | Get-HttpCacheEntry | ForEach-Object { $_.Uri }");

        Assert.Equal(urls, result.BaseOutput);
    }
}

public sealed class RemoveHttpCacheEntryTests(OriginFixture fixture) : EntryTestBase(fixture)
{
    private const string Cmdlet = "HttpCache.Commands.RemoveHttpCacheEntryCommand";

    [Fact]
    public async Task PipedExpiredEntriesAreRemoved()
    {
        var urls = Urls(3);
        using var ps = await WithStored(urls);
        await ps.Ok("""
            $null = Get-HttpCacheEntry -Session $s -Uri $u | Reset-HttpCacheExpiration -ExpireAfter ExpireImmediately
            Get-HttpCacheEntry -Session $s -Expired | Remove-HttpCacheEntry
            """, ("u", urls[1]));

        Assert.Equal([urls[0], urls[2]], await StoredUris(ps));
    }

    [Fact]
    public async Task WhatIfRemovesNothing()
    {
        var urls = Urls(2);
        using var ps = await WithStored(urls);
        await ps.Ok("""
            Get-HttpCacheEntry -Session $s | Remove-HttpCacheEntry -WhatIf
            Remove-HttpCacheEntry -Session $s -Uri '*' -WhatIf
            Remove-HttpCacheEntry -Session $s -All -WhatIf
            """);

        Assert.Equal(urls.Order(), await StoredUris(ps));
    }

    [Fact]
    public async Task AllWithConfirmFalseOrForceRemovesEverything()
    {
        using var ps = await WithStored(Urls(2));
        await ps.Ok("Remove-HttpCacheEntry -Session $s -All -Confirm:$false");
        Assert.Empty(await StoredUris(ps));

        await ps.Ok("$urls | Invoke-CachedWebRequest -Session $s | ForEach-Object { $null = $_ }", ("urls", Urls(2)));
        await ps.Ok("Remove-HttpCacheEntry -Session $s -All -Force");
        Assert.Empty(await StoredUris(ps));
    }

    [Fact]
    public async Task AllAsksFirstAndRemovesNothingWhenNoOneCanAnswer()
    {
        var urls = Urls(1);
        using var ps = await WithStored(urls);
        var result = await ps.RunAsync("Remove-HttpCacheEntry -Session $s -All");

        // The hosted runspace has no UI to ask with: the question fails, and nothing was removed.
        Assert.True(result.Threw || result.Errors.Count > 0, result.ToString());
        Assert.Equal(urls, await StoredUris(ps));
    }

    [Fact]
    public async Task UriRemovesEveryVariant()
    {
        var varying = Urls(1, "vary", new Dictionary<string, string> { ["Vary"] = "Accept-Language" });
        var other = Urls(1);
        using var ps = PS.Open();
        await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory
            $null = Invoke-CachedWebRequest -Uri $v -Session $s -Headers @{ 'Accept-Language' = 'en' }
            $null = Invoke-CachedWebRequest -Uri $v -Session $s -Headers @{ 'Accept-Language' = 'fr' }
            $null = Invoke-CachedWebRequest -Uri $o -Session $s
            """, ("v", varying[0]), ("o", other[0]));
        Assert.Equal(3, (await StoredUris(ps)).Length);

        await ps.Ok("Remove-HttpCacheEntry -Session $s -Uri $v -Confirm:$false", ("v", varying[0]));

        Assert.Equal(other, await StoredUris(ps));
    }

    [Fact]
    public async Task KeyRemovesOneEntry()
    {
        var urls = Urls(2);
        using var ps = await WithStored(urls);
        await ps.Ok("Remove-HttpCacheEntry -Session $s -Key (Get-HttpCacheEntry -Session $s -Uri $u).Key", ("u", urls[0]));

        Assert.Equal([urls[1]], await StoredUris(ps));
    }

    [Fact]
    public async Task OlderThanRemovesEntriesCreatedBeforeNowMinusTheValue()
    {
        var urls = Urls(2);
        using var ps = await WithStored(urls);
        await ps.Ok("Remove-HttpCacheEntry -Session $s -OlderThan '1.00:00:00'; Remove-HttpCacheEntry -Session $s -OlderThan 3600");
        Assert.Equal(urls.Order(), await StoredUris(ps));

        await ps.Ok("Remove-HttpCacheEntry -Session $s -OlderThan ([TimeSpan]::Zero)");
        Assert.Empty(await StoredUris(ps));
    }

    [Fact]
    public async Task BadOlderThanIsAParameterBindingError()
    {
        using var ps = await WithStored(Urls(1));
        var error = await ps.Fails("Remove-HttpCacheEntry -Session $s -OlderThan 'a while'");

        Assert.Equal($"ParameterArgumentTransformationError,{Cmdlet}", error.FullyQualifiedErrorId);
    }

    [Fact]
    public async Task NoFilterIsRefused()
    {
        var urls = Urls(1);
        using var ps = await WithStored(urls);
        var error = await ps.Fails("Remove-HttpCacheEntry -Session $s");

        Assert.Equal($"FilterRequired,{Cmdlet}", error.FullyQualifiedErrorId);
        Assert.Equal(urls, await StoredUris(ps));
    }

    [Fact]
    public async Task RemovingAnEntryTwiceReportsItMissing()
    {
        using var ps = await WithStored(Urls(1));
        var result = await ps.RunAsync("$e = Get-HttpCacheEntry -Session $s; $e | Remove-HttpCacheEntry; Remove-HttpCacheEntry -InputObject $e");

        Assert.Equal([$"EntryNotFound,{Cmdlet}"], result.ErrorIds);
    }

    [Fact]
    public async Task EntriesFromSeveralSessionsGoBackToTheirOwn()
    {
        var urls = Urls(2);
        using var ps = PS.Open();
        await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory
            $t = New-HttpCacheSession -Backend Memory
            $null = Invoke-CachedWebRequest -Uri $a -Session $s
            $null = Invoke-CachedWebRequest -Uri $b -Session $t
            @(Get-HttpCacheEntry -Session $s) + @(Get-HttpCacheEntry -Session $t) | Remove-HttpCacheEntry
            """, ("a", urls[0]), ("b", urls[1]));

        Assert.Empty((await ps.Ok("Get-HttpCacheEntry -Session $s; Get-HttpCacheEntry -Session $t")).Output);
    }
}

public sealed class ResetHttpCacheExpirationTests(OriginFixture fixture) : EntryTestBase(fixture)
{
    private const string Cmdlet = "HttpCache.Commands.ResetHttpCacheExpirationCommand";

    [Fact]
    public async Task PipedEntriesGetANewLifetimeFromNow()
    {
        var urls = Urls(2);
        using var ps = await WithStored(urls);
        var result = await ps.Ok("""
            $before = [DateTime]::Now
            Get-HttpCacheEntry -Session $s -Uri $u | Reset-HttpCacheExpiration -ExpireAfter '01:00:00' -PassThru | ForEach-Object { ($_.ExpiresAt - $before).TotalMinutes; $_.GetType().FullName }
            Get-HttpCacheEntry -Session $s | ForEach-Object { $null -eq $_.ExpiresAt }
            """, ("u", urls[0]));

        Assert.InRange((double)result.BaseOutput[0], 59.5, 60.5);
        Assert.Equal("HttpCache.CacheEntry", result.BaseOutput[1]);
        Assert.Equal([false, true], result.BaseOutput.Skip(2));
    }

    [Fact]
    public async Task WithoutInputEveryEntryOfTheSessionIsReset()
    {
        using var ps = await WithStored(Urls(3));
        var result = await ps.Ok("""
            Reset-HttpCacheExpiration -ExpireAfter 0 -Session $s
            @(Get-HttpCacheEntry -Session $s -Expired).Count
            """);

        Assert.Equal([3], result.BaseOutput);
    }

    [Fact]
    public async Task WhatIfChangesNothing()
    {
        using var ps = await WithStored(Urls(2));
        var result = await ps.Ok("""
            Reset-HttpCacheExpiration -ExpireAfter 0 -Session $s -WhatIf
            Get-HttpCacheEntry -Session $s | Reset-HttpCacheExpiration -ExpireAfter 0 -WhatIf
            @(Get-HttpCacheEntry -Session $s -Expired).Count
            """);

        Assert.Equal([0], result.BaseOutput);
    }

    [Fact]
    public async Task DoNotCacheIsRefused()
    {
        using var ps = await WithStored(Urls(1));
        var error = await ps.Fails("Get-HttpCacheEntry -Session $s | Reset-HttpCacheExpiration -ExpireAfter DoNotCache");

        Assert.Equal($"InvalidExpiration,{Cmdlet}", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
        Assert.Contains("Remove-HttpCacheEntry", error.Exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BadExpireAfterIsAParameterBindingError()
    {
        using var ps = await WithStored(Urls(1));
        var error = await ps.Fails("Reset-HttpCacheExpiration -ExpireAfter 'tomorrow-ish' -Session $s");

        Assert.Equal($"ParameterArgumentTransformationError,{Cmdlet}", error.FullyQualifiedErrorId);
        Assert.IsAssignableFrom<ParameterBindingException>(error.Exception);
    }

    [Fact]
    public async Task ResetEntryIsServedAsExpired()
    {
        var urls = Urls(1);
        using var ps = await WithStored(urls);
        var result = await ps.Ok("""
            Reset-HttpCacheExpiration -ExpireAfter ExpireImmediately -Session $s
            Invoke-CachedWebRequest -Uri $u -Session $s
            """, ("u", urls[0]));

        var response = Assert.Single(result.Output);
        Assert.False(response.Prop<bool>("FromCache"));
        Assert.Equal("miss-expired", response.Prop<string>("Reason"));
    }
}

public sealed class GetHttpCacheStatsTests(OriginFixture fixture) : EntryTestBase(fixture)
{
    [Fact]
    public async Task ReportsHitsMissesAndTheInventory()
    {
        var urls = Urls(1);
        using var ps = await WithStored(urls);
        var stats = (await ps.Ok("$null = Invoke-CachedWebRequest -Uri $u -Session $s; Get-HttpCacheStats -Session $s", ("u", urls[0]))).Output.Single();

        Assert.Equal("HttpCache.CacheStats", stats.TypeName());
        Assert.Matches("^session-[0-9]+$", stats.Prop<string>("SessionName"));
        Assert.Equal("Memory", stats.Prop<string>("Backend"));
        Assert.Equal(1L, stats.Prop<long>("Hits"));
        Assert.Equal(1L, stats.Prop<long>("Misses"));
        Assert.Equal(0.5, stats.Prop<double>("HitRate"));
        Assert.Equal(1L, stats.Prop<long>("SessionHits"));
        Assert.Equal(1L, stats.Prop<long>("SessionMisses"));
        Assert.Equal(1L, stats.Prop<long>("Entries"));
        Assert.True(stats.Prop<long>("StoredBytes") > 0);
        Assert.NotNull(stats.Prop<DateTime?>("OldestEntry"));
        Assert.Equal(stats.Prop<DateTime?>("OldestEntry"), stats.Prop<DateTime?>("NewestEntry"));
        Assert.Equal(0L, stats.Prop<long>("Revalidations"));
        Assert.Equal(0L, stats.Prop<long>("StaleServed"));
        Assert.Equal(0L, stats.Prop<long>("Errors"));
        Assert.Equal(0L, stats.Prop<long>("CorruptEntries"));
    }

    [Fact]
    public async Task CumulativeFiguresComeFromTheStoreAndSessionFiguresFromTheSession()
    {
        var urls = Urls(1);
        using var temp = new TempDirectory();
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $first = New-HttpCacheSession -Path $db
            1..3 | ForEach-Object { $null = Invoke-CachedWebRequest -Uri $u -Session $first }
            $first.Dispose()
            $second = New-HttpCacheSession -Path $db
            $null = Invoke-CachedWebRequest -Uri $u -Session $second
            $second | Get-HttpCacheStats
            """, ("u", urls[0]), ("db", temp.File("stats.sqlite")));

        var stats = result.Output.Single();
        Assert.Equal("Sqlite", stats.Prop<string>("Backend"));
        Assert.Equal(3L, stats.Prop<long>("StoreHits"));
        Assert.Equal(1L, stats.Prop<long>("StoreMisses"));
        Assert.Equal(0.75, stats.Prop<double>("StoreHitRate"));
        Assert.Equal(1L, stats.Prop<long>("Hits"));
        Assert.Equal(0L, stats.Prop<long>("Misses"));
        Assert.Equal(1L, stats.Prop<long>("SessionHits"));
        Assert.Equal(0L, stats.Prop<long>("SessionMisses"));
        Assert.Equal(1.0, stats.Prop<double>("HitRate"));
    }
}
