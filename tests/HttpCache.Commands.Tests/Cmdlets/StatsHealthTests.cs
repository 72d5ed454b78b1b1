using HttpCache.Commands.Tests.Infrastructure;
using HttpCache.Testing;

namespace HttpCache.Commands.Tests.Cmdlets;

/// <summary>Get-HttpCacheStats through the cmdlet: the verdict and growth on real figures, and -GroupBy Host.</summary>
public sealed class StatsCmdletTests(OriginFixture fixture) : EntryTestBase(fixture)
{
    [Fact]
    public async Task HealthAndGrowthComeWithTheStats()
    {
        var urls = Urls(3);
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory
            $empty = Get-HttpCacheStats -Session $s
            $null = $urls | Invoke-CachedWebRequest -Session $s
            $one = Get-HttpCacheStats -Session $s
            1..3 | ForEach-Object { $null = $urls | Invoke-CachedWebRequest -Session $s }
            $two = Get-HttpCacheStats -Session $s
            $three = Get-HttpCacheStats -Session $s
            $empty.Health; $empty.Growth; $null -eq $empty.GrowthBytes
            $one.Health; $one.Growth; $one.GrowthBytes -eq $one.StoredBytes
            $two.Health; $two.HitRate; $two.StaleRate
            $three.Growth; $three.GrowthBytes
            $two.HealthReason
            """, ("urls", urls));

        // 12 requests in all: too few for a verdict (the minimum is 20), whatever the hit rate.
        Assert.Equal(
            ["Insufficient data", "Unknown", true, "Insufficient data", "Linear", true, "Insufficient data", 0.75, 0.0, "Linear", 0L],
            result.BaseOutput.Take(11));
        Assert.Equal("12 requests counted; a verdict needs at least 20.", (string)result.BaseOutput[11]);
    }

    [Fact]
    public async Task GroupByHostComputesPerHostFiguresFromTheEntries()
    {
        var urls = Urls(2);
        using var ps = await WithStored(urls);
        var result = await ps.Ok("""
            1..2 | ForEach-Object { $null = Invoke-CachedWebRequest -Uri $u -Session $s }
            $null = Invoke-CachedWebRequest -Uri $other -Session $s
            Get-HttpCacheStats -Session $s -GroupBy Host
            """, ("u", urls[0]), ("other", Urls(1)[0].Replace("127.0.0.1", "localhost", StringComparison.Ordinal)));

        Assert.Equal(2, result.Output.Count);
        var loopback = result.Output.Single(o => o.Prop<string>("Host") == $"127.0.0.1:{Origin.BaseAddress.Port}");
        Assert.Equal("HttpCache.CacheHostStats", loopback.TypeName());
        Assert.Equal(2L, loopback.Prop<long>("Entries"));
        Assert.Equal(2L, loopback.Prop<long>("Hits"));
        Assert.Equal(0L, loopback.Prop<long>("ExpiredEntries"));
        Assert.True(loopback.Prop<long>("StoredBytes") > 0);
        Assert.NotNull(loopback.Prop<DateTime?>("OldestEntry"));
        Assert.NotNull(loopback.Prop<DateTime?>("LastAccessedAt"));
        var local = result.Output.Single(o => o.Prop<string>("Host") == $"localhost:{Origin.BaseAddress.Port}");
        Assert.Equal(1L, local.Prop<long>("Entries"));
        Assert.Equal(0L, local.Prop<long>("Hits"));
        Assert.Matches("^session-[0-9]+$", local.Prop<string>("SessionName"));
    }

    [Fact]
    public async Task GroupByTakesOnlyHost()
    {
        using var ps = PS.Open();
        var error = await ps.Fails("Get-HttpCacheStats -Session (New-HttpCacheSession -Backend Memory) -GroupBy Path");

        Assert.Equal("ParameterArgumentValidationError,HttpCache.Commands.GetHttpCacheStatsCommand", error.FullyQualifiedErrorId);
    }

    [Fact]
    public async Task EveryCounterIsAProperty()
    {
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $stats = Get-HttpCacheStats -Session (New-HttpCacheSession -Backend Memory)
            'Coalesced', 'BackgroundRefreshes', 'Invalidations', 'Evictions', 'StaleRate', 'SampledAt' | ForEach-Object { "$_ $($null -ne $stats.PSObject.Properties[$_])" }
            """);

        Assert.Equal(
            ["Coalesced True", "BackgroundRefreshes True", "Invalidations True", "Evictions True", "StaleRate True", "SampledAt True"],
            result.BaseOutput.Select(o => o.ToString()));
    }
}
