using System.Globalization;
using HttpCache.Commands.Tests.Infrastructure;
using HttpCache.Testing;

namespace HttpCache.Commands.Tests.Cmdlets;

/// <summary>The Health verdict and the growth classification: pure functions, table-tested.</summary>
public sealed class HealthThresholdTests
{
    private const string Health = "HttpCache.Commands.CacheHealth";

    public static TheoryData<long, long, long, string> Verdicts => new()
    {
        // hits, misses, stale served → verdict. Hit rate: > 60% healthy, 30-60% investigate, < 30% critical.
        { 0, 0, 0, "Unknown" },
        { 100, 0, 0, "Healthy" },
        { 61, 39, 0, "Healthy" },
        { 60, 40, 0, "Investigate" },       // exactly 60%: not above it
        { 45, 55, 0, "Investigate" },
        { 30, 70, 0, "Investigate" },       // exactly 30%: not below it
        { 29, 71, 0, "Critical" },
        { 0, 10, 0, "Critical" },
        // Stale served over requests: < 5% healthy, 5-15% investigate, > 15% critical.
        { 90, 10, 4, "Healthy" },
        { 90, 10, 5, "Investigate" },       // exactly 5%
        { 90, 10, 15, "Investigate" },      // exactly 15%
        { 90, 10, 16, "Critical" },
        // The worse of the two wins.
        { 50, 50, 1, "Investigate" },
        { 50, 50, 20, "Critical" },
        { 20, 80, 0, "Critical" },
        { 80, 20, 10, "Investigate" },
    };

    [Theory]
    [MemberData(nameof(Verdicts))]
    public void VerdictFollowsTheThresholds(long hits, long misses, long stale, string expected)
    {
        var assessment = ModuleInternals.Call(Health, "Assess", hits, misses, stale)!;

        Assert.Equal(expected, ModuleInternals.Get<string>(assessment, "Verdict"));
        var requests = hits + misses;
        Assert.Equal(requests == 0 ? 0 : (double)hits / requests, ModuleInternals.Get<double>(assessment, "HitRate"), 10);
        Assert.Equal(requests == 0 ? 0 : (double)stale / requests, ModuleInternals.Get<double>(assessment, "StaleRate"), 10);
        Assert.False(string.IsNullOrWhiteSpace(ModuleInternals.Get<string>(assessment, "Reason")));
    }

    [Fact]
    public void ReasonNamesBothFiguresAndTheirThresholds()
    {
        var reason = ModuleInternals.Get<string>(ModuleInternals.Call(Health, "Assess", 45L, 55L, 8L)!, "Reason");

        Assert.Contains("Hit rate 45.0% (investigate", reason, StringComparison.Ordinal);
        Assert.Contains("stale served 8.0% of requests (investigate", reason, StringComparison.Ordinal);
        Assert.Contains("60%", reason, StringComparison.Ordinal);
        Assert.Contains("15%", reason, StringComparison.Ordinal);
    }

    public static TheoryData<string, string> Growths => new()
    {
        // Samples "seconds:bytes" at successive calls → classification.
        { "", "Unknown" },
        { "0:1000", "Unknown" },
        { "0:1000 10:1000", "Stable" },
        { "0:1000 10:1005", "Stable" },             // within 1%
        { "0:1000 10:900", "Stable" },              // shrinking: eviction at work
        { "0:0 10:0", "Stable" },
        { "0:0 10:500", "Linear" },
        { "0:1000 10:2000", "Linear" },             // growing, no earlier interval to compare
        { "0:1000 10:2000 20:3000", "Linear" },     // the same rate
        { "0:1000 10:2000 20:2400", "Linear" },     // slowing down
        { "0:1000 10:2000 20:3600", "Unbounded" },  // 1.6 times as fast
        { "0:1000 10:2000 15:2800", "Unbounded" },  // as many bytes per second counted over a shorter interval
        { "0:1000 10:1000 20:5000", "Linear" },     // a first growth after a stable interval
        { "0:1000 10:2000 20:4000 30:4000", "Stable" },
        { "0:1000 10:2000 20:2000 30:9000", "Linear" },
    };

    [Theory]
    [MemberData(nameof(Growths))]
    public void GrowthIsClassifiedFromTheSamples(string samples, string expected)
    {
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var list = samples.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(s => s.Split(':'))
            .Select(p => (start.AddSeconds(double.Parse(p[0], CultureInfo.InvariantCulture)), long.Parse(p[1], CultureInfo.InvariantCulture)))
            .ToList();

        Assert.Equal(expected, ModuleInternals.Call(Health, "ClassifyGrowth", list));
    }
}

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

        Assert.Equal(
            ["Unknown", "Unknown", true, "Critical", "Linear", true, "Healthy", 0.75, 0.0, "Stable", 0L],
            result.BaseOutput.Take(11));
        Assert.StartsWith("Hit rate 75.0% (healthy", (string)result.BaseOutput[11], StringComparison.Ordinal);
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
        Assert.Equal("default", local.Prop<string>("SessionName"));
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
